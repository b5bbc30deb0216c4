/**
 * The pool against real Python workers (issue 3's "Must show" list): concurrency and FIFO order,
 * saturation, queue timeouts, deadlines and aborts that cancel the Python task, crash recovery,
 * startup failure without a hot loop, session affinity, and a close that leaves no process behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, SnakepitError, type Pool, type PoolOptions, type SnakepitErrorCode } from '@snakepit/sdk';
import { isAlive, showcaseAdapter, testPython, waitUntil } from './python-under-test.js';
import { pythonAdapter } from '../src/index.js';

const pools: Pool[] = [];
const dataDirs: string[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 5_000 })));
  for (const dir of dataDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function showcasePool(options: Omit<PoolOptions, 'adapter'> = {}, adapter = showcaseAdapter()): Pool {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'snakepit-pool-it-'));
  dataDirs.push(dataDir);
  const pool = createPool({ adapter, dataDir, ...options });
  pools.push(pool);
  return pool;
}

/** Waits until `size` workers are ready (ready() resolves with the first). */
async function allReady(pool: Pool, size: number): Promise<void> {
  await pool.ready();
  const ok = await waitUntil(() => pool.stats().workers.ready === size, 30_000);
  expect(ok).toBe(true);
}

async function failure(promise: Promise<unknown>, code: SnakepitErrorCode): Promise<SnakepitError> {
  try {
    await promise;
  } catch (error) {
    expect(SnakepitError.isInstance(error)).toBe(true);
    expect((error as SnakepitError).code).toBe(code);
    return error as SnakepitError;
  }
  throw new Error(`expected ${code}`);
}

/** process.kill(pid, 0) throws ESRCH once the process is gone (and reaped). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function workerPids(pool: Pool): number[] {
  return pool.listWorkers().map((worker) => worker.pid!);
}

describe('concurrency and order', () => {
  it('pool(4): four concurrent 200 ms sleeps take about one sleep', async () => {
    const pool = showcasePool({ size: 4 });
    await allReady(pool, 4);
    const startedAt = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => pool.execute('sleep', { ms: 200 })));
    const elapsed = performance.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(500);
  });

  it('pool(1): 50 queued calls complete in submission order', async () => {
    const pool = showcasePool({ size: 1 });
    await pool.ready();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => pool.execute('counter', { name: 'fifo' }) as Promise<{ value: number }>),
    );
    // The single worker counted them in the order it ran them: submission order.
    expect(results.map((result) => result.value)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
  });
});

describe('queue limits', () => {
  it('pool(1), maxQueue 2: with one call running and two waiting, a third fails pool_saturated at once', async () => {
    const pool = showcasePool({ size: 1, maxQueue: 2 });
    await pool.ready();
    const running = pool.execute('sleep', { ms: 400 });
    const waiting = [pool.execute('add', { a: 1, b: 1 }), pool.execute('add', { a: 2, b: 2 })];
    const startedAt = performance.now();
    await failure(pool.execute('add', { a: 3, b: 3 }), 'pool_saturated');
    expect(performance.now() - startedAt).toBeLessThan(50);
    await expect(Promise.all([running, ...waiting])).resolves.toEqual([{ slept_ms: 400 }, 2, 4]);
  });

  it('pool(1), queueTimeoutMs 100: the waiting call fails queue_timeout once and Python never runs it', async () => {
    const pool = showcasePool({ size: 1, queueTimeoutMs: 100 });
    await pool.ready();
    const errors: string[] = [];
    pool.on('call:error', (event) => void (event.tool === 'counter' && errors.push(event.code)));
    const running = pool.execute('sleep', { ms: 400 });
    await failure(pool.execute('counter', { name: 'never' }), 'queue_timeout');
    await running;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await pool.execute('counter_value', { name: 'never' })).toEqual({ name: 'never', value: 0 });
    expect(errors).toEqual(['queue_timeout']);
  });
});

describe('deadlines and cancellation', () => {
  it('timeoutMs 300 on a 5 s sleep: timeout in about 300 ms, the Python task is cancelled, the worker serves on', async () => {
    const pool = showcasePool({ size: 1 });
    await pool.ready();
    const pid = await pool.execute('pid');
    const before = (await pool.execute('cancelled_count', { name: 'sleep' })) as number;
    const startedAt = performance.now();
    await failure(pool.execute('sleep', { ms: 5_000 }, { timeoutMs: 300 }), 'timeout');
    const elapsed = performance.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(600);
    expect(await pool.execute('cancelled_count', { name: 'sleep' })).toBe(before + 1);
    expect(await pool.execute('pid')).toBe(pid);
  });

  it('an AbortSignal cancels a running call in Python', async () => {
    const pool = showcasePool({ size: 1 });
    await pool.ready();
    const before = (await pool.execute('cancelled_count', { name: 'sleep' })) as number;
    const controller = new AbortController();
    const call = pool.execute('sleep', { ms: 5_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 150);
    const startedAt = performance.now();
    await failure(call, 'aborted');
    expect(performance.now() - startedAt).toBeLessThan(400);
    expect(await pool.execute('cancelled_count', { name: 'sleep' })).toBe(before + 1);
    expect(await pool.execute('add', { a: 1, b: 2 })).toBe(3);
  });

  it('an AbortSignal takes a queued call out of the queue; Python never runs it', async () => {
    const pool = showcasePool({ size: 1 });
    await pool.ready();
    const running = pool.execute('sleep', { ms: 300 });
    const controller = new AbortController();
    const queued = pool.execute('counter', { name: 'aborted-in-queue' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await failure(queued, 'aborted');
    await running;
    expect(await pool.execute('counter_value', { name: 'aborted-in-queue' })).toEqual({ name: 'aborted-in-queue', value: 0 });
  });

  it('breaking out of a stream stops the Python generator and frees the worker', async () => {
    const pool = showcasePool({ size: 1 });
    await pool.ready();
    let seen = 0;
    for await (const _chunk of pool.executeStream('stream_ticks', { name: 'broken-off', delay_ms: 10 })) {
      seen += 1;
      if (seen === 3) break;
    }
    let state = (await pool.execute('stream_state', { name: 'broken-off' })) as { produced: number; closed: boolean };
    for (let attempt = 0; attempt < 50 && !state.closed; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      state = (await pool.execute('stream_state', { name: 'broken-off' })) as { produced: number; closed: boolean };
    }
    expect(state.closed).toBe(true);
    expect(state.produced).toBeLessThan(20);
  });
});

describe('crash recovery', () => {
  it('os._exit(1) mid-call: worker_exit promptly, a new worker with a new pid, other calls unaffected', async () => {
    const pool = showcasePool({ size: 2, restartBackoff: { initialMs: 10, maxMs: 100 } });
    await allReady(pool, 2);
    const before = workerPids(pool);
    const other = pool.execute('sleep', { ms: 600 });
    const startedAt = performance.now();
    await failure(pool.execute('crash', { code: 1, delay_ms: 100 }), 'worker_exit');
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    await expect(other).resolves.toEqual({ slept_ms: 600 });
    await allReady(pool, 2);
    const after = workerPids(pool);
    const crashed = before.filter((pid) => !after.includes(pid));
    expect(crashed).toHaveLength(1);
    expect(gone(crashed[0]!)).toBe(true);
    expect(after.filter((pid) => !before.includes(pid))).toHaveLength(1);
    expect(pool.stats().counters.restarts).toBe(1);
  });

  it('twenty crashes in a row on pool(2), then the pool serves calls normally', async () => {
    const pool = showcasePool({ size: 2, restartBackoff: { initialMs: 10, maxMs: 200 } });
    await pool.ready();
    for (let crash = 0; crash < 20; crash += 1) await failure(pool.execute('crash', { code: 1 }), 'worker_exit');
    const sums = await Promise.all(Array.from({ length: 20 }, (_, index) => pool.execute('add', { a: index, b: 1 })));
    expect(sums).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    await allReady(pool, 2);
    expect(workerPids(pool).every((pid) => !gone(pid))).toBe(true);
  });

  it('an adapter that fails to import: ready() rejects with the Python error, without a hot respawn loop', async () => {
    const adapter = pythonAdapter({ adapter: 'broken_import.BrokenAdapter', python: testPython, pythonPath: [path.join(import.meta.dirname, '..', 'python', 'tests', 'fixtures')] });
    const pool = showcasePool({ size: 1, startupTimeoutMs: 10_000 }, adapter);
    let spawns = 0;
    pool.on('worker:spawn', () => void (spawns += 1));
    const startedAt = performance.now();
    const error = await failure(pool.ready(), 'startup_failed');
    expect(performance.now() - startedAt).toBeLessThan(10_000);
    expect(error.message).toContain('broken on purpose: missing_dependency');
    await failure(pool.execute('ping'), 'startup_failed');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // Default backoff: retries after ~0.1, 0.2, 0.4, 0.8 s... — a handful, not hundreds.
    expect(spawns).toBeGreaterThanOrEqual(2);
    expect(spawns).toBeLessThanOrEqual(8);
  });
});

describe('sessions', () => {
  async function placements(pool: Pool, sessions: number, callsPerSession: number) {
    return Promise.all(
      Array.from({ length: sessions }, (_, session) =>
        Promise.all(
          Array.from({ length: callsPerSession }, () =>
            pool.executeInSession(`session-${session}`, 'pid').then(
              (pid) => ({ pid: pid as number }),
              (error: SnakepitError) => ({ error }),
            ),
          ),
        ),
      ),
    );
  }

  // 1000 calls at once: the queue timeout is raised so a slow machine measures affinity, not queueing.
  const busy = { queueTimeoutMs: 60_000 };

  it('100 sessions x 10 parallel calls on pool(4) with hint: no errors; the session id reaches Python', async () => {
    const pool = showcasePool({ size: 4, ...busy });
    await allReady(pool, 4);
    const outcomes = (await placements(pool, 100, 10)).flat();
    expect(outcomes.filter((outcome) => 'error' in outcome)).toEqual([]);
    expect(await pool.executeInSession('session-7', 'session_info')).toMatchObject({ session_id: 'session-7' });
  });

  it('hint under light load keeps each session on one worker', async () => {
    const pool = showcasePool({ size: 4 });
    await allReady(pool, 4);
    const perSession = await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (session) => {
        const pids = new Set<number>();
        for (let call = 0; call < 10; call += 1) pids.add((await pool.executeInSession(session, 'pid')) as number);
        return pids;
      }),
    );
    expect(perSession.every((pids) => pids.size === 1)).toBe(true);
  });

  it("strict-queue: 100 sessions x 10 parallel calls, every session's calls on one worker", async () => {
    const pool = showcasePool({ size: 4, affinity: 'strict-queue', ...busy });
    await allReady(pool, 4);
    for (const session of await placements(pool, 100, 10)) {
      expect(session.filter((outcome) => 'error' in outcome)).toEqual([]);
      expect(new Set(session.map((outcome) => (outcome as { pid: number }).pid)).size).toBe(1);
    }
  });

  it("strict-fail-fast: calls that find the session's worker busy fail worker_busy, the others run there", async () => {
    const pool = showcasePool({ size: 4, affinity: 'strict-fail-fast', ...busy });
    await allReady(pool, 4);
    for (const session of await placements(pool, 100, 10)) {
      const failed = session.filter((outcome): outcome is { error: SnakepitError } => 'error' in outcome);
      expect(failed.every((outcome) => outcome.error.code === 'worker_busy')).toBe(true);
      const served = session.filter((outcome): outcome is { pid: number } => 'pid' in outcome);
      expect(served.length).toBeGreaterThan(0);
      expect(new Set(served.map((outcome) => outcome.pid)).size).toBe(1);
    }
  });
});

describe('close()', () => {
  it('with calls in flight and a grandchild process: returns within its bound and leaves no process behind', async () => {
    const pool = showcasePool({ size: 2 });
    await allReady(pool, 2);
    const { pid: grandchild } = (await pool.execute('spawn_grandchild', { seconds: 1000 })) as { pid: number };
    const workers = workerPids(pool);
    expect(workers).toHaveLength(2);
    expect([...workers, grandchild].every(isAlive)).toBe(true);
    const inFlight = [pool.execute('sleep', { ms: 10_000 }), pool.execute('sleep_sync', { ms: 10_000 })].map((call) =>
      failure(call, 'pool_closed'),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const startedAt = performance.now();
    await pool.close({ timeoutMs: 2_000 });
    expect(performance.now() - startedAt).toBeLessThan(2_300);
    await Promise.all(inFlight);
    for (const pid of workers) expect(gone(pid)).toBe(true);
    // The grandchild was re-parented when its worker died; it is gone once whoever adopted it reaps it.
    expect(await waitUntil(() => !isAlive(grandchild), 2_000)).toBe(true);
    await failure(pool.execute('ping'), 'pool_closed');
  });
});

describe('listWorkers', () => {
  it('carries what each Python worker reported about itself', async () => {
    const pool = showcasePool({ size: 1 });
    await pool.ready();
    const [worker] = pool.listWorkers();
    expect(worker).toMatchObject({ state: 'ready', capacity: 1, info: { mode: 'process', capacity: 1 } });
    expect(typeof worker!.info.free_threaded).toBe('boolean');
    expect(worker!.info.python_version).toMatch(/^3\.\d+/);
  });
});
