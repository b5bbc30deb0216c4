import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../src/testing/index.js';
import { EventLog, eventually, expectCode, sleep, testPool } from '../pool/pool-test-support.js';

describe('close()', () => {
  it('is idempotent and refuses every later call with pool_closed', async () => {
    const { pool, adapter } = testPool({ size: 2 });
    await pool.ready();
    const first = pool.close();
    expect(pool.close()).toBe(first);
    await first;
    await expect(pool.close()).resolves.toBeUndefined();
    await expectCode(pool.execute('echo', {}), 'pool_closed');
    await expectCode(pool.executeInSession('s', 'echo', {}), 'pool_closed');
    await expectCode(pool.executeStream('ticks').next(), 'pool_closed');
    await expectCode(pool.ready(), 'pool_closed');
    expect(adapter.workers()).toHaveLength(0);
    expect(pool.listWorkers()).toHaveLength(0);
  });

  it('fails queued calls with pool_closed and lets calls in flight finish', async () => {
    const { pool, toolbox } = testPool({ size: 1 });
    await pool.ready();
    const log = new EventLog(pool, ['queue:leave', 'worker:exit']);
    const running = pool.execute('wait', { name: 'running' });
    const queued = pool.execute('echo', {});
    const closed = pool.close();
    await expectCode(queued, 'pool_closed');
    expect(log.of('queue:leave')).toMatchObject([{ reason: 'closed' }]);
    await sleep(30);
    toolbox.release('running');
    await expect(running).resolves.toBe('running');
    await closed;
    expect(log.of('worker:exit')).toMatchObject([{ expected: true }]);
  });

  it('is bounded: a call that never finishes is cancelled with pool_closed and close returns in time', async () => {
    const { pool, toolbox } = testPool({ size: 2 });
    await pool.ready();
    const stuck = pool.execute('wait', { name: 'never' });
    const startedAt = performance.now();
    await pool.close({ timeoutMs: 300 });
    const elapsed = performance.now() - startedAt;
    expect(elapsed).toBeLessThan(400);
    expect(elapsed).toBeGreaterThanOrEqual(150);
    await expectCode(stuck, 'pool_closed');
    expect(toolbox.cancelled).toEqual(['never']);
  });

  it('with force cancels calls in flight at once', async () => {
    const { pool, adapter, toolbox } = testPool({ size: 1 });
    await pool.ready();
    const running = pool.execute('wait', { name: 'running' });
    const startedAt = performance.now();
    await pool.close({ force: true });
    expect(performance.now() - startedAt).toBeLessThan(100);
    await expectCode(running, 'pool_closed');
    expect(toolbox.cancelled).toEqual(['running']);
    expect(adapter.workers()).toHaveLength(0);
  });

  it('a forced close cuts short the drain of an earlier graceful one', async () => {
    const { pool } = testPool({ size: 1 });
    await pool.ready();
    const running = pool.execute('wait', { name: 'running' });
    const startedAt = performance.now();
    const graceful = pool.close({ timeoutMs: 5_000 });
    await sleep(20);
    await pool.close({ force: true });
    await graceful;
    expect(performance.now() - startedAt).toBeLessThan(300);
    await expectCode(running, 'pool_closed');
  });

  it('rejects a pending ready() and stops workers that are still starting', async () => {
    const { pool, adapter } = testPool({ size: 2 }, { startDelayMs: 5_000 });
    const ready = pool.ready();
    await sleep(10);
    const startedAt = performance.now();
    await pool.close();
    expect(performance.now() - startedAt).toBeLessThan(200);
    await expectCode(ready, 'pool_closed');
    expect(adapter.workers()).toHaveLength(0);
  });

  it('is what Symbol.asyncDispose does', async () => {
    const { pool, adapter } = testPool({ size: 1 });
    await pool.ready();
    await pool[Symbol.asyncDispose]();
    await expectCode(pool.execute('echo', {}), 'pool_closed');
    expect(adapter.workers()).toHaveLength(0);
  });

  it('rejects an invalid timeout with invalid_parameter', async () => {
    const { pool } = testPool({ size: 1 });
    await expectCode(pool.close({ timeoutMs: -5 }), 'invalid_parameter');
    await expect(pool.execute('echo', { still: 'open' })).resolves.toEqual({ still: 'open' });
  });
});

describe('stats() and listWorkers()', () => {
  it('counts calls and summarises run and wait times', async () => {
    const { pool, toolbox } = testPool({ size: 2, maxQueue: 1 });
    await pool.ready();
    await expect.poll(() => pool.stats().workers.ready).toBe(2);
    await pool.execute('sleep', { ms: 30 });
    await expectCode(pool.execute('fail', { message: 'nope' }), 'python_error');
    await expectCode(pool.execute('sleep', { ms: 1_000 }, { timeoutMs: 20 }), 'timeout');
    const held = [pool.execute('wait', { name: 'a' }), pool.execute('wait', { name: 'b' })];
    const queued = pool.execute('echo', {});
    await expectCode(pool.execute('echo', {}), 'pool_saturated');
    const during = pool.stats();
    expect(during).toMatchObject({ workers: { total: 2, ready: 2, busy: 2, starting: 0 }, queueLength: 1, inFlight: 2 });
    toolbox.release('a');
    toolbox.release('b');
    await Promise.all([...held, queued]);
    const stats = pool.stats();
    expect(stats.counters).toEqual({
      completed: 4,
      failed: 3,
      timedOut: 1,
      aborted: 0,
      saturated: 1,
      queueTimeouts: 0,
      restarts: 0,
      recycled: 0,
      refusals: 0,
    });
    expect(stats.inFlight).toBe(0);
    expect(stats.runTimeMs.count).toBe(6);
    expect(stats.runTimeMs.max).toBeGreaterThanOrEqual(29);
    expect(stats.runTimeMs.min).toBeLessThanOrEqual(stats.runTimeMs.p50);
    expect(stats.runTimeMs.p50).toBeLessThanOrEqual(stats.runTimeMs.p99);
    expect(stats.waitTimeMs.count).toBe(6);
    expect(stats.waitTimeMs.max).toBeGreaterThan(0);
  });

  it('describes each worker', async () => {
    const { pool } = testPool({ size: 2 }, { capacity: 3 });
    await pool.ready();
    await expect.poll(() => pool.stats().workers.ready).toBe(2);
    await pool.executeInSession('s', 'echo', {});
    const workers = pool.listWorkers();
    expect(workers).toHaveLength(2);
    for (const worker of workers) {
      expect(worker).toMatchObject({ state: 'ready', load: 0, capacity: 3, pid: undefined });
      expect(worker.id).toMatch(/^w\d+$/);
      expect(worker.startedAt).toBeLessThanOrEqual(Date.now());
    }
    expect(workers.reduce((total, worker) => total + worker.callsServed, 0)).toBe(1);
    expect(workers.reduce((total, worker) => total + worker.sessions, 0)).toBe(1);
  });
});

describe('events and plumbing', () => {
  it('keeps working when a listener throws or rejects, and logs it', async () => {
    const logger = createMemoryLogger();
    const { pool } = testPool({ size: 1, logger });
    pool.on('call:start', () => {
      throw new Error('listener bug');
    });
    pool.on('call:end', async () => {
      throw new Error('async listener bug');
    });
    await expect(pool.execute('echo', { fine: true })).resolves.toEqual({ fine: true });
    await eventually(() => expect(logger.records.filter((record) => record.message === 'a pool event listener threw')).toHaveLength(2));
  });

  it('keeps working with a logger that throws', async () => {
    const throwing = () => {
      throw new Error('logger bug');
    };
    const logger = { trace: throwing, debug: throwing, info: throwing, warn: throwing, error: throwing, fatal: throwing, child: throwing };
    const { pool, adapter } = testPool({ size: 1, logger, restartBackoff: { initialMs: 1, maxMs: 5 } });
    pool.on('call:start', throwing);
    await pool.ready();
    const crashed = adapter.workers()[0]!.id;
    adapter.crash(crashed);
    await eventually(() => expect(pool.listWorkers().map((worker) => worker.id)).not.toContain(crashed));
    await expect(pool.execute('echo', { fine: true })).resolves.toEqual({ fine: true });
  });

  it('supports once() and off()', async () => {
    const { pool } = testPool({ size: 1 });
    const seen: number[] = [];
    const listener = ({ callId }: { callId: number }) => void seen.push(callId);
    pool.once('call:end', listener);
    await pool.execute('echo', {});
    await pool.execute('echo', {});
    expect(seen).toHaveLength(1);
    pool.on('call:end', listener);
    pool.off('call:end', listener);
    await pool.execute('echo', {});
    expect(seen).toHaveLength(1);
  });

  it('emits worker:spawn and worker:ready for listeners attached right after createPool', async () => {
    const { pool } = testPool({ size: 2 });
    const log = new EventLog(pool, ['worker:spawn', 'worker:ready']);
    await eventually(() => expect(log.of('worker:ready')).toHaveLength(2));
    expect(log.of('worker:spawn').map((event) => event.workerId)).toEqual(['w1', 'w2']);
    expect(log.of('worker:ready')[0]).toMatchObject({ capacity: 1, pid: undefined });
  });

  it('hands every worker the same per-pool secret and the data folder', async () => {
    const { pool, adapter } = testPool({ size: 2 });
    await pool.ready();
    await expect.poll(() => adapter.startContexts().length).toBe(2);
    const [first, second] = adapter.startContexts();
    expect(first!.token).toMatch(/^[0-9a-f]{64}$/);
    expect(second!.token).toBe(first!.token);
    expect(first!.hostAddress).toBeUndefined(); // hostBridge: false in unit tests
    expect(first!.heartbeat).toEqual({ intervalMs: 2_000, timeoutMs: 10_000, maxMissed: 3 });
    expect(fs.existsSync(first!.dataDir!)).toBe(true);
    const other = testPool({ size: 1 });
    await other.pool.ready();
    expect(other.adapter.startContexts()[0]!.token).not.toBe(first!.token);
  });

  it('serves the host bridge on loopback and hands its address to every worker', async () => {
    const { pool, adapter } = testPool({ size: 2, hostBridge: true });
    await pool.ready();
    await expect.poll(() => adapter.startContexts().length).toBe(2);
    const [first, second] = adapter.startContexts();
    expect(first!.hostAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(second!.hostAddress).toBe(first!.hostAddress);
  });

  it('passes correlation id and metadata to the worker', async () => {
    const seen: unknown[] = [];
    const { pool } = testPool(
      {},
      { tools: { context: (_args, context) => void seen.push({ correlationId: context.correlationId, metadata: context.metadata }) } },
    );
    await pool.execute('context', {}, { correlationId: 'corr-1', metadata: { tenant: 'acme' } });
    await pool.execute('context');
    expect(seen[0]).toEqual({ correlationId: 'corr-1', metadata: { tenant: 'acme' } });
    expect((seen[1] as { correlationId: string }).correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
