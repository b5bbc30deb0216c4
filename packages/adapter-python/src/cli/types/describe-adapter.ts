/**
 * Starts one worker of an adapter exactly as a pool (and the doctor) would, asks it to describe its
 * tools (`DescribeTools`), and stops it.
 */
import type { WorkerToolSpec } from '@snakepit/sdk/adapter';
import { keepingAlive, startWorker, type WorkerCheckInput } from '../doctor/worker-check.js';

const describeTimeoutMs = 30_000;

export type DescribeOutcome =
  | { ok: true; tools: WorkerToolSpec[]; readyMs: number }
  | { ok: false; stage: 'start' | 'describe'; error: unknown };

export function describeAdapter(input: WorkerCheckInput): Promise<DescribeOutcome> {
  return keepingAlive(() => describe(input));
}

async function describe(input: WorkerCheckInput): Promise<DescribeOutcome> {
  const abort = new AbortController();
  const startedAt = performance.now();
  let worker;
  try {
    worker = await startWorker(input, 'types', abort.signal);
  } catch (error) {
    abort.abort();
    return { ok: false, stage: 'start', error };
  }
  const readyMs = Math.round(performance.now() - startedAt);
  try {
    if (worker.doDescribeTools === undefined) throw new Error('this version of @snakepit/sdk cannot ask a worker to describe its tools');
    return { ok: true, tools: await worker.doDescribeTools(describeTimeoutMs), readyMs };
  } catch (error) {
    return { ok: false, stage: 'describe', error };
  } finally {
    await worker.doStop({ graceMs: 1_000 }).catch(() => {});
    abort.abort();
  }
}
