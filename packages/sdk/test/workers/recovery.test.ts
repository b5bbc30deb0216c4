import { describe, expect, it } from 'vitest';
import type { AdapterV1, AdapterWorkerV1 } from '../../src/adapter/v1/adapter.js';
import { errors } from '../../src/errors.js';
import { createInMemoryAdapter, type InMemoryAdapter } from '../../src/testing/index.js';
import { EventLog, eventually, expectCode, sleep, temporaryDataDir, testPool } from '../pool/pool-test-support.js';
import { createPool } from '../../src/pool/pool.js';

describe('crash recovery', () => {
  it('fails in-flight calls with worker_exit at once, even if the adapter never rejects them, and replaces the worker', async () => {
    const { pool, adapter, toolbox } = testPool({ size: 2, restartBackoff: { initialMs: 5, maxMs: 50 } });
    await pool.ready();
    await expect.poll(() => pool.stats().workers.ready).toBe(2);
    const log = new EventLog(pool, ['worker:exit', 'worker:ready', 'call:error']);
    const doomed = pool.execute('wait', { name: 'doomed' });
    const survivor = pool.execute('wait', { name: 'survivor' });
    const doomedWorker = pool.listWorkers().find((worker) => worker.load === 1 && worker.callsServed === 1)!.id;
    const crashedAt = performance.now();
    adapter.crash(doomedWorker, { code: 1, rejectCalls: false });
    const error = await expectCode(doomed, 'worker_exit');
    expect(performance.now() - crashedAt).toBeLessThan(50);
    expect(error.details).toMatchObject({ workerId: doomedWorker, exitCode: 1 });
    expect(log.of('worker:exit')).toEqual([{ workerId: doomedWorker, pid: undefined, code: 1, signal: null, expected: false }]);
    await eventually(() => expect(log.of('worker:ready')).toHaveLength(1));
    expect(log.of('worker:ready')[0]!.workerId).not.toBe(doomedWorker);
    // The other worker's call is unaffected.
    toolbox.release('survivor');
    await expect(survivor).resolves.toBe('survivor');
    expect(log.of('call:error')).toHaveLength(1);
    expect(pool.stats().counters.restarts).toBe(1);
  });

  it('reports a crash once per call when the adapter also rejects the call', async () => {
    const { pool, adapter } = testPool({ size: 1, restartBackoff: { initialMs: 5, maxMs: 50 } });
    await pool.ready();
    const log = new EventLog(pool, ['call:error']);
    const doomed = pool.execute('wait', { name: 'doomed' });
    adapter.crash(adapter.workers()[0]!.id);
    await expectCode(doomed, 'worker_exit');
    await sleep(20);
    expect(log.of('call:error')).toHaveLength(1);
    expect(pool.stats().counters.failed).toBe(1);
  });

  it('serves calls that were waiting when the only worker crashed with its replacement', async () => {
    const { pool, adapter } = testPool({ size: 1, restartBackoff: { initialMs: 5, maxMs: 50 } });
    await pool.ready();
    const doomed = pool.execute('wait', { name: 'doomed' });
    const waiting = pool.execute('whoami');
    const first = adapter.workers()[0]!.id;
    adapter.crash(first);
    await expectCode(doomed, 'worker_exit');
    expect(((await waiting) as { workerId: string }).workerId).not.toBe(first);
  });

  it('never hands a waiting call to a dead worker whose cancelled call settles late', async () => {
    const { pool, adapter } = testPool({ size: 1, restartBackoff: { initialMs: 150, maxMs: 150, jitter: 0 } }, { cancelDelayMs: 40 });
    await pool.ready();
    const controller = new AbortController();
    const cancelled = pool.execute('sleep', { ms: 10_000 }, { signal: controller.signal });
    controller.abort();
    await expectCode(cancelled, 'aborted');
    const waiting = pool.execute('whoami');
    const dead = adapter.workers()[0]!.id;
    adapter.crash(dead);
    // The cancelled call settles after the crash, while the replacement is still pending.
    const served = (await waiting) as { workerId: string };
    expect(served.workerId).not.toBe(dead);
  });

  it('serves normally after 20 crashes in a row', async () => {
    let adapter!: InMemoryAdapter;
    adapter = createInMemoryAdapter({
      tools: {
        crash: (_args, context) => {
          setTimeout(() => adapter.crash(context.workerId), 1);
          return new Promise(() => {});
        },
        echo: (args) => args,
      },
    });
    const pool = createPool({ adapter, size: 2, dataDir: temporaryDataDir(), restartBackoff: { initialMs: 1, maxMs: 20 } });
    try {
      await pool.ready();
      for (let crash = 0; crash < 20; crash += 1) await expectCode(pool.execute('crash'), 'worker_exit');
      const results = await Promise.all(Array.from({ length: 20 }, (_, index) => pool.execute('echo', { index })));
      expect(results).toHaveLength(20);
      await expect.poll(() => pool.stats().workers.ready).toBe(2);
      expect(pool.stats().counters.restarts).toBeGreaterThanOrEqual(20);
    } finally {
      await pool.close();
    }
  });

  it('stops routing to a worker its adapter reported dead, and replaces it', async () => {
    const inner = createInMemoryAdapter({ tools: { echo: (args) => args } });
    // An adapter that reports worker_exit before its worker's exit is observed.
    const adapter: AdapterV1 = {
      specificationVersion: 'v1',
      name: 'reports-early',
      async doStartWorker(context) {
        const worker = await inner.doStartWorker(context);
        const wrapped: AdapterWorkerV1 = Object.create(worker, {
          doExecute: {
            value: async (request: Parameters<AdapterWorkerV1['doExecute']>[0], callContext: Parameters<AdapterWorkerV1['doExecute']>[1]) => {
              if (request.tool === 'die') throw errors.workerExit(worker.id, { code: 9, signal: null });
              return worker.doExecute(request, callContext);
            },
          },
        });
        return wrapped;
      },
    };
    const pool = createPool({ adapter, size: 1, dataDir: temporaryDataDir(), restartBackoff: { initialMs: 1, maxMs: 5 } });
    try {
      await pool.ready();
      const log = new EventLog(pool, ['worker:exit', 'worker:ready']);
      await expectCode(pool.execute('die'), 'worker_exit');
      await expect(pool.execute('echo', { after: true })).resolves.toEqual({ after: true });
      expect(log.of('worker:exit')).toMatchObject([{ workerId: 'w1', expected: false }]);
      expect(log.of('worker:ready')).toMatchObject([{ workerId: 'w2' }]);
    } finally {
      await pool.close();
    }
  });
});

describe('startup failures', () => {
  it('rejects ready() with startup_failed carrying the start error once every initial worker failed', async () => {
    const { pool } = testPool(
      { size: 2, restartBackoff: { initialMs: 50, maxMs: 1_000 } },
      { failStart: () => new Error("ModuleNotFoundError: No module named 'missing_dependency'") },
    );
    const startedAt = performance.now();
    const error = await expectCode(pool.ready(), 'startup_failed');
    expect(performance.now() - startedAt).toBeLessThan(200);
    expect(error.message).toContain("No module named 'missing_dependency'");
    // Calls fail fast with the same cause instead of waiting for a worker that cannot start.
    const callStartedAt = performance.now();
    const callError = await expectCode(pool.execute('echo', {}), 'startup_failed');
    expect(performance.now() - callStartedAt).toBeLessThan(50);
    expect(callError.message).toContain('missing_dependency');
  });

  it('keeps retrying with growing backoff, not in a hot loop', async () => {
    const { pool, adapter } = testPool(
      { size: 2, restartBackoff: { initialMs: 40, maxMs: 320, multiplier: 2, jitter: 0 } },
      { failStart: () => new Error('cannot import') },
    );
    const log = new EventLog(pool, ['worker:startup_failed']);
    await expectCode(pool.ready(), 'startup_failed');
    await sleep(1_000);
    const attempts = adapter.startAttempts();
    // Per seat: t=0, 40, 120, 280, 600, 920 (cap 320) → about 6 each within a second; a hot loop would be thousands.
    expect(attempts).toBeGreaterThanOrEqual(8);
    expect(attempts).toBeLessThanOrEqual(14);
    expect(log.of('worker:startup_failed')).toHaveLength(attempts);
    expect(pool.stats().counters.restarts).toBe(attempts - 2);
  });

  it('fails waiting calls with startup_failed instead of letting them wait forever', async () => {
    const { pool } = testPool(
      { size: 1, queueTimeoutMs: 60_000, restartBackoff: { initialMs: 20, maxMs: 20 } },
      { startDelayMs: 30, failStart: () => new Error('broken import') },
    );
    const waiting = pool.execute('echo', {});
    const error = await expectCode(waiting, 'startup_failed');
    expect(error.message).toContain('broken import');
  });

  it('recovers once a start succeeds again', async () => {
    const { pool } = testPool(
      { size: 1, restartBackoff: { initialMs: 20, maxMs: 20 } },
      { failStart: (_workerId, attempt) => (attempt <= 2 ? new Error('flaky start') : undefined) },
    );
    await expectCode(pool.ready(), 'startup_failed');
    await eventually(() => expect(pool.stats().workers.ready).toBe(1));
    await expect(pool.ready()).resolves.toBeUndefined();
    await expect(pool.execute('echo', { ok: true })).resolves.toEqual({ ok: true });
  });

  it('bounds a start that never finishes, even when the adapter ignores startupTimeoutMs', async () => {
    const { pool } = testPool({ size: 1, startupTimeoutMs: 50, restartBackoff: { initialMs: 1_000, maxMs: 1_000 } }, { startDelayMs: 60_000 });
    const error = await expectCode(pool.ready(), 'startup_failed');
    expect(error.message).toContain('did not become ready within 50 ms');
  });

  it('starts at most startupConcurrency workers at once', async () => {
    const { pool } = testPool({ size: 4, startupConcurrency: 2 }, { startDelayMs: 40 });
    const log = new EventLog(pool, ['worker:ready']);
    await sleep(10);
    expect(pool.stats().workers.starting).toBe(4);
    await eventually(() => expect(log.of('worker:ready')).toHaveLength(2));
    expect(pool.stats().workers.ready).toBe(2);
    await eventually(() => expect(log.of('worker:ready')).toHaveLength(4));
    const startTimes = log.of('worker:ready').map((event) => event.startMs);
    // The second pair waited for a permit, so their start took about twice as long.
    expect(Math.min(...startTimes.slice(2))).toBeGreaterThanOrEqual(70);
  });
});

describe('heartbeat', () => {
  it('declares a hung worker unresponsive, fails its calls with worker_unresponsive, stops and replaces it', async () => {
    const { pool, adapter } = testPool({
      size: 1,
      heartbeat: { intervalMs: 20, timeoutMs: 30, maxMissed: 2 },
      restartBackoff: { initialMs: 1, maxMs: 5 },
    });
    await pool.ready();
    const log = new EventLog(pool, ['heartbeat', 'worker:unresponsive', 'worker:exit', 'worker:ready']);
    await eventually(() => expect(log.of('heartbeat').some((beat) => beat.ok)).toBe(true));
    const hungId = adapter.workers()[0]!.id;
    const stuck = pool.execute('wait', { name: 'stuck' });
    adapter.hang(hungId);
    const error = await expectCode(stuck, 'worker_unresponsive');
    expect(error.details).toMatchObject({ workerId: hungId, missedHeartbeats: 2 });
    expect(log.of('worker:unresponsive')).toEqual([{ workerId: hungId, pid: undefined, missedHeartbeats: 2 }]);
    expect(log.of('heartbeat').filter((beat) => !beat.ok)).toHaveLength(2);
    await eventually(() => expect(log.of('worker:exit')).toMatchObject([{ workerId: hungId, expected: true, signal: 'SIGKILL' }]));
    await eventually(() => expect(log.of('worker:ready')).toHaveLength(1));
    await expect(pool.execute('echo', { alive: true })).resolves.toEqual({ alive: true });
  });
});
