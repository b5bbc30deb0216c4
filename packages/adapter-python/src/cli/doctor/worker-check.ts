/**
 * The doctor's last check: a real worker, started exactly as a pool starts one (the same adapter
 * code, the same interpreter search), then pinged and stopped.
 */
import { randomBytes } from 'node:crypto';
import { SnakepitError, type AdapterWorkerV1 } from '@snakepit/sdk/adapter';
import { createPythonServerAdapter, processMode } from '../../python-adapter.js';
import type { CheckLine } from './checks.js';

/** Started when no --adapter is given: it ships with the bridge and needs nothing else. */
export const builtInAdapter = 'snakepit_bridge.adapters.showcase.ShowcaseAdapter';

export interface WorkerCheckInput {
  adapter: string;
  python: string | undefined;
  pythonPath: string[];
  cwd: string;
  startupTimeoutMs: number;
}

const pingTimeoutMs = 5_000;
const shownErrorLines = 12;

/**
 * Runs `work` with the event loop held open. A worker process is unref'd (it must never keep a
 * pool's program alive), so when its start fails, waiting for its exit is all that is left to do:
 * without this, a CLI whose only work that is would end there, with exit code 0 and no report.
 */
export async function keepingAlive<T>(work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1 << 30);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Starts one worker the way a pool does; `signal` abandons the start. */
export async function startWorker(input: WorkerCheckInput, workerId: string, signal: AbortSignal): Promise<AdapterWorkerV1> {
  const adapter = createPythonServerAdapter(
    {
      adapter: input.adapter,
      ...(input.python !== undefined ? { python: input.python } : {}),
      pythonPath: input.pythonPath,
      cwd: input.cwd,
    },
    processMode,
  );
  return adapter.doStartWorker({
    workerId,
    token: randomBytes(32).toString('hex'),
    heartbeat: { intervalMs: 2_000, timeoutMs: 10_000, maxMissed: 3 },
    signal,
    startupTimeoutMs: input.startupTimeoutMs,
    // What the worker prints is in the startup error when it matters.
    onLog: () => {},
  });
}

/** The line for a worker that did not start: the error's first line, its tail, and the fix. */
export function workerFailureLine(adapter: string, error: unknown, again = 'run the doctor again'): CheckLine {
  const message = error instanceof Error ? error.message : String(error);
  const [first, ...rest] = message.split('\n');
  const hint = SnakepitError.isInstance(error) && typeof error.details.hint === 'string' ? error.details.hint : undefined;
  return {
    status: 'fail',
    label: 'worker',
    summary: `${adapter} did not start: ${hint === undefined ? first : first!.replace(` ${hint}`, '')}`,
    details: rest.slice(-shownErrorLines),
    fix: hint ?? `the error above comes from the worker; fix what it names, then ${again}`,
  };
}

export function workerLine(input: WorkerCheckInput): Promise<CheckLine> {
  return keepingAlive(() => checkWorker(input));
}

async function checkWorker(input: WorkerCheckInput): Promise<CheckLine> {
  const label = 'worker';
  const abort = new AbortController();
  let worker: AdapterWorkerV1 | undefined;
  const startedAt = performance.now();
  try {
    worker = await startWorker(input, 'doctor', abort.signal);
    const readyMs = Math.round(performance.now() - startedAt);
    const pingedAt = performance.now();
    await worker.doPing(pingTimeoutMs);
    const pingMs = Math.max(1, Math.round(performance.now() - pingedAt));
    const info = worker.info;
    const facts = [
      worker.pid !== undefined ? `pid ${worker.pid}` : undefined,
      typeof info.python_version === 'string' ? `Python ${info.python_version}` : undefined,
      typeof info.mode === 'string' ? `${info.mode} mode` : undefined,
    ].filter((fact) => fact !== undefined);
    return {
      status: 'ok',
      label,
      summary: `started ${input.adapter} in ${readyMs} ms and it answered a ping in ${pingMs} ms${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`,
    };
  } catch (error) {
    return workerFailureLine(input.adapter, error);
  } finally {
    await worker?.doStop({ graceMs: 1_000 }).catch(() => {});
    abort.abort();
  }
}
