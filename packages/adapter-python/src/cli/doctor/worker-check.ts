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

export async function workerLine(input: WorkerCheckInput): Promise<CheckLine> {
  const label = 'worker';
  const abort = new AbortController();
  let worker: AdapterWorkerV1 | undefined;
  const startedAt = performance.now();
  try {
    const adapter = createPythonServerAdapter(
      {
        adapter: input.adapter,
        ...(input.python !== undefined ? { python: input.python } : {}),
        pythonPath: input.pythonPath,
        cwd: input.cwd,
      },
      processMode,
    );
    worker = await adapter.doStartWorker({
      workerId: 'doctor',
      token: randomBytes(32).toString('hex'),
      heartbeat: { intervalMs: 2_000, timeoutMs: 10_000, maxMissed: 3 },
      signal: abort.signal,
      startupTimeoutMs: input.startupTimeoutMs,
      // What the worker prints is in the startup error when it matters.
      onLog: () => {},
    });
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
    const message = error instanceof Error ? error.message : String(error);
    const [first, ...rest] = message.split('\n');
    const hint = SnakepitError.isInstance(error) && typeof error.details.hint === 'string' ? error.details.hint : undefined;
    return {
      status: 'fail',
      label,
      summary: `${input.adapter} did not start: ${hint === undefined ? first : first!.replace(` ${hint}`, '')}`,
      details: rest.slice(-shownErrorLines),
      fix: hint ?? 'the error above comes from the worker; fix what it names, then run the doctor again',
    };
  } finally {
    await worker?.doStop({ graceMs: 1_000 }).catch(() => {});
    abort.abort();
  }
}
