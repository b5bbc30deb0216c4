/**
 * Starts one worker of an adapter exactly as a pool (and the doctor) would — or connects to a
 * running worker server, as a remote pool would — asks it to describe its tools (`DescribeTools`),
 * and stops it (a server only loses the connection).
 */
import { connectGrpcWorker, resolveMessageLimits, type AdapterWorkerV1, type RemoteTlsOptions, type WorkerToolSpec } from '@snakepit/sdk/adapter';
import { keepingAlive, startWorker, type WorkerCheckInput } from '../doctor/worker-check.js';

const describeTimeoutMs = 30_000;

export type DescribeOutcome =
  | { ok: true; tools: WorkerToolSpec[]; readyMs: number; info: Readonly<Record<string, unknown>> }
  | { ok: false; stage: 'start' | 'describe'; error: unknown };

/** A worker server to connect to instead of starting a worker. */
export interface RemoteWorkerInput {
  endpoint: string;
  token: string;
  tls: RemoteTlsOptions | 'plaintext';
  timeoutMs: number;
}

export function describeAdapter(input: WorkerCheckInput): Promise<DescribeOutcome> {
  return keepingAlive(() => describe((signal) => startWorker(input, 'types', signal)));
}

export function describeRemoteWorker(input: RemoteWorkerInput): Promise<DescribeOutcome> {
  const { maxMessageBytes } = resolveMessageLimits({});
  return keepingAlive(() =>
    describe((signal) =>
      connectGrpcWorker({
        workerId: 'types',
        endpoint: input.endpoint,
        token: input.token,
        tls: input.tls,
        connectTimeoutMs: input.timeoutMs,
        handshakeTimeoutMs: input.timeoutMs,
        maxMessageBytes,
        channelMaxRequestBytes: 0,
        signal,
      }),
    ),
  );
}

async function describe(start: (signal: AbortSignal) => Promise<AdapterWorkerV1>): Promise<DescribeOutcome> {
  const abort = new AbortController();
  const startedAt = performance.now();
  let worker;
  try {
    worker = await start(abort.signal);
  } catch (error) {
    abort.abort();
    return { ok: false, stage: 'start', error };
  }
  const readyMs = Math.round(performance.now() - startedAt);
  try {
    if (worker.doDescribeTools === undefined) throw new Error('this version of @snakepit/sdk cannot ask a worker to describe its tools');
    return { ok: true, tools: await worker.doDescribeTools(describeTimeoutMs), readyMs, info: worker.info };
  } catch (error) {
    return { ok: false, stage: 'describe', error };
  } finally {
    await worker.doStop({ graceMs: 1_000 }).catch(() => {});
    abort.abort();
  }
}
