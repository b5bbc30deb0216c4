import { describe, expect, it } from 'vitest';
import { EventLog, expectCode, sleep, testPool } from './pool-test-support.js';

describe('scheduling', () => {
  it('sends each call to the least-loaded worker and never exceeds a worker capacity', async () => {
    const { pool, adapter, toolbox } = testPool({ size: 3 }, { capacity: 2 });
    await pool.ready();
    await expect.poll(() => pool.stats().workers.ready).toBe(3);
    const running = new Map<string, number>();
    let peak = 0;
    pool.on('call:start', ({ workerId }) => {
      const load = (running.get(workerId) ?? 0) + 1;
      running.set(workerId, load);
      peak = Math.max(peak, load);
    });
    const settled = ({ workerId }: { workerId?: string }) => {
      if (workerId !== undefined) running.set(workerId, running.get(workerId)! - 1);
    };
    pool.on('call:end', settled);
    pool.on('call:error', settled);
    const log = new EventLog(pool, ['call:start', 'queue:enter']);

    const calls = Array.from({ length: 8 }, (_, index) => pool.execute('wait', { name: `c${index}` }));
    const starts = log.of('call:start');
    // Three calls spread over the three workers before any worker gets a second one.
    expect(new Set(starts.slice(0, 3).map((start) => start.workerId)).size).toBe(3);
    expect(new Set(starts.slice(3, 6).map((start) => start.workerId)).size).toBe(3);
    expect(starts).toHaveLength(6);
    expect(log.of('queue:enter')).toHaveLength(2);
    expect(pool.stats().queueLength).toBe(2);

    for (let index = 0; index < 8; index += 1) toolbox.release(`c${index}`);
    await Promise.all(calls);
    expect(peak).toBe(2);
    expect(adapter.peakConcurrency()).toBe(2);
    expect(pool.listWorkers().every((worker) => worker.callsServed >= 2)).toBe(true);
  });

  it('runs 50 calls queued on a pool of one in submission order', async () => {
    const executed: number[] = [];
    const { pool, toolbox } = testPool(
      { size: 1 },
      {
        tools: {
          record: (args) => {
            executed.push(Number(args.index));
            return args.index;
          },
        },
      },
    );
    await pool.ready();
    const first = pool.execute('wait', { name: 'first' });
    const queued = Array.from({ length: 50 }, (_, index) => pool.execute('record', { index }));
    expect(pool.stats().queueLength).toBe(50);
    toolbox.release('first');
    expect(await Promise.all(queued)).toEqual(Array.from({ length: 50 }, (_, index) => index));
    await first;
    expect(executed).toEqual(Array.from({ length: 50 }, (_, index) => index));
  });

  it('refuses a call with pool_saturated at once when the queue is full', async () => {
    const { pool, toolbox } = testPool({ size: 1, maxQueue: 2 });
    await pool.ready();
    const log = new EventLog(pool, ['pool:saturated']);
    const running = pool.execute('wait', { name: 'running' });
    const waiting = [pool.execute('echo', { n: 1 }), pool.execute('echo', { n: 2 })];
    const startedAt = performance.now();
    const refused = await expectCode(pool.execute('echo', { n: 3 }), 'pool_saturated');
    expect(performance.now() - startedAt).toBeLessThan(50);
    expect(refused.details).toMatchObject({ maxQueue: 2 });
    expect(log.of('pool:saturated')).toEqual([{ queueLength: 2, maxQueue: 2 }]);
    toolbox.release('running');
    await expect(Promise.all([running, ...waiting])).resolves.toEqual(['running', { n: 1 }, { n: 2 }]);
    expect(pool.stats().counters).toMatchObject({ saturated: 1, failed: 1, completed: 3 });
  });

  it('fails a waiting call with queue_timeout exactly once and never runs it later', async () => {
    const { pool, adapter, toolbox } = testPool({ size: 1, queueTimeoutMs: 100 });
    await pool.ready();
    const log = new EventLog(pool, ['call:error', 'queue:leave']);
    const running = pool.execute('wait', { name: 'running' });
    const startedAt = performance.now();
    const error = await expectCode(pool.execute('sleep', { ms: 1, label: 'late' }), 'queue_timeout');
    const waited = performance.now() - startedAt;
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(waited).toBeLessThan(400);
    expect(error.message).toMatch(/within \d+ ms/);
    toolbox.release('running');
    await running;
    await sleep(50);
    expect(adapter.callCount('sleep')).toBe(0);
    expect(log.of('call:error').map((event) => event.code)).toEqual(['queue_timeout']);
    expect(log.of('queue:leave').map((event) => event.reason)).toEqual(['timeout']);
    expect(pool.stats().counters.queueTimeouts).toBe(1);
  });

  it('applies one deadline to queue wait and execution together', async () => {
    const { pool, toolbox } = testPool({ size: 1, queueTimeoutMs: 10_000 });
    await pool.ready();
    const first = pool.execute('sleep', { ms: 150, label: 'first' });
    const startedAt = performance.now();
    // Waits ~150 ms, then has ~50 ms left to run a 150 ms sleep.
    const error = await expectCode(pool.execute('sleep', { ms: 150, label: 'second' }, { timeoutMs: 200 }), 'timeout');
    const elapsed = performance.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(330);
    expect(error.details).toMatchObject({ timeoutMs: 200, tool: 'sleep' });
    await first;
    expect(toolbox.started).toEqual(['first', 'second']);
    expect(toolbox.cancelled).toEqual(['second']);
  });

  it('reports a deadline that expires while waiting as timeout, and never runs the call', async () => {
    const { pool, adapter, toolbox } = testPool({ size: 1, queueTimeoutMs: 10_000 });
    await pool.ready();
    const log = new EventLog(pool, ['queue:leave']);
    const running = pool.execute('wait', { name: 'running' });
    await expectCode(pool.execute('sleep', { ms: 1 }, { timeoutMs: 60 }), 'timeout');
    toolbox.release('running');
    await running;
    await sleep(30);
    expect(adapter.callCount('sleep')).toBe(0);
    expect(log.of('queue:leave')).toMatchObject([{ reason: 'timeout' }]);
  });

  it('refuses unencodable arguments before anything is queued or sent', async () => {
    const { pool, adapter } = testPool({ size: 1 });
    await pool.ready();
    const error = await expectCode(pool.execute('echo', { big: 10n }), 'invalid_parameter');
    expect(error.details).toMatchObject({ key: 'big' });
    const stream = pool.executeStream('ticks', { nested: { fn: () => 1 } });
    await expectCode(stream.next(), 'invalid_parameter');
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
    await expectCode(pool.execute('echo', {}, { timeoutMs: -1 }), 'invalid_parameter');
    await expectCode(pool.execute('', {}), 'invalid_parameter');
    expect(adapter.callCount()).toBe(0);
    expect(pool.stats().queueLength).toBe(0);
  });

  it('does not route calls to a worker before it is ready', async () => {
    const { pool, adapter } = testPool({ size: 2 }, { startDelayMs: 80 });
    const log = new EventLog(pool, ['worker:ready', 'call:start']);
    const results = Promise.all([pool.execute('whoami'), pool.execute('whoami')]);
    expect(pool.stats().queueLength).toBe(2);
    expect(adapter.callCount()).toBe(0);
    await results;
    const ready = log.entries.findIndex((entry) => entry.name === 'worker:ready');
    const firstStart = log.entries.findIndex((entry) => entry.name === 'call:start');
    expect(ready).toBeGreaterThanOrEqual(0);
    expect(firstStart).toBeGreaterThan(ready);
  });
});
