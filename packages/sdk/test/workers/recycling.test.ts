import { describe, expect, it } from 'vitest';
import { EventLog, eventually, testPool } from '../pool/pool-test-support.js';

interface WhoAmI {
  workerId: string;
}

describe('recycling', () => {
  it('retires a worker after maxRequestsPerWorker calls without cutting off the call in flight', async () => {
    const { pool, toolbox } = testPool({ size: 1, maxRequestsPerWorker: 3 });
    await pool.ready();
    const log = new EventLog(pool, ['worker:recycle', 'worker:exit', 'worker:ready']);
    const first = ((await pool.execute('whoami')) as WhoAmI).workerId;
    await pool.execute('whoami');
    const third = pool.execute('wait', { name: 'third' });
    expect(log.of('worker:recycle')).toEqual([{ workerId: first, reason: 'max_requests' }]);
    expect(pool.listWorkers().find((worker) => worker.id === first)).toMatchObject({ state: 'draining', load: 1, callsServed: 3 });
    // New calls go to the replacement while the old worker finishes its last call.
    const fourth = ((await pool.execute('whoami')) as WhoAmI).workerId;
    expect(fourth).not.toBe(first);
    expect(log.of('worker:exit')).toHaveLength(0);
    toolbox.release('third');
    await expect(third).resolves.toBe('third');
    await eventually(() => expect(log.of('worker:exit')).toMatchObject([{ workerId: first, expected: true }]));
    expect(pool.stats().counters).toMatchObject({ recycled: 1, restarts: 0, failed: 0 });
  });

  it('retires a worker after workerTtlMs, draining first', async () => {
    const { pool, toolbox } = testPool({ size: 1, workerTtlMs: 80 });
    await pool.ready();
    const log = new EventLog(pool, ['worker:recycle', 'worker:exit']);
    const first = pool.listWorkers()[0]!.id;
    const held = pool.execute('wait', { name: 'held' });
    await eventually(() => expect(log.of('worker:recycle')).toEqual([{ workerId: first, reason: 'ttl' }]));
    await eventually(() => expect(pool.stats().workers.ready).toBe(1));
    expect(((await pool.execute('whoami')) as WhoAmI).workerId).not.toBe(first);
    expect(log.of('worker:exit')).toHaveLength(0);
    toolbox.release('held');
    await expect(held).resolves.toBe('held');
    await eventually(() => expect(log.of('worker:exit')).toMatchObject([{ workerId: first, expected: true }]));
  });

  it('stops an idle worker right away when it is recycled', async () => {
    const { pool } = testPool({ size: 2, workerTtlMs: 60 });
    await pool.ready();
    const log = new EventLog(pool, ['worker:exit', 'worker:recycle']);
    await eventually(() => expect(log.of('worker:exit').length).toBeGreaterThanOrEqual(2));
    expect(log.of('worker:exit').every((exit) => exit.expected)).toBe(true);
    await expect(pool.execute('echo', { fine: true })).resolves.toEqual({ fine: true });
  });
});
