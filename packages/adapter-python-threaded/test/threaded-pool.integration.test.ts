/** One threaded Python process serves several calls at once, and the pool respects its capacity. */
import { afterEach, expect, it } from 'vitest';
import { createPool, SnakepitError, type Pool } from '@snakepit/sdk';
import { threadedPythonAdapter } from '../src/index.js';
import { testPython, threadedShowcase } from './python-under-test.js';

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

async function threadedPool(size: number, threadsPerWorker: number): Promise<Pool> {
  const pool = createPool({ adapter: threadedPythonAdapter({ adapter: threadedShowcase, python: testPython, threadsPerWorker }), size });
  pools.push(pool);
  await pool.ready();
  while (pool.listWorkers().filter((worker) => worker.state === 'ready').length < size) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pool;
}

/** Records the most calls each worker ever ran at once, from the pool's events. */
function trackLoad(pool: Pool): Map<string, number> {
  const current = new Map<string, number>();
  const peak = new Map<string, number>();
  pool.on('call:start', (event) => {
    const load = (current.get(event.workerId) ?? 0) + 1;
    current.set(event.workerId, load);
    peak.set(event.workerId, Math.max(peak.get(event.workerId) ?? 0, load));
  });
  const finished = (event: { workerId?: string }) => {
    if (event.workerId !== undefined) current.set(event.workerId, (current.get(event.workerId) ?? 1) - 1);
  };
  pool.on('call:end', finished);
  pool.on('call:error', finished);
  return peak;
}

async function timeSleeps(pool: Pool, count: number, ms: number): Promise<number> {
  const startedAt = Date.now();
  await Promise.all(Array.from({ length: count }, () => pool.execute('sleep_sync', { ms })));
  return Date.now() - startedAt;
}

it('runs 4 sleeps at once on one worker with 4 threads, and 8 in two rounds', async () => {
  const pool = await threadedPool(1, 4);
  const peak = trackLoad(pool);
  const [worker] = pool.listWorkers();
  expect(worker).toMatchObject({ capacity: 4 });

  const four = await timeSleeps(pool, 4, 300);
  expect(four).toBeGreaterThanOrEqual(290);
  expect(four).toBeLessThan(800);

  const eight = await timeSleeps(pool, 8, 300);
  expect(eight).toBeGreaterThanOrEqual(590);
  expect(eight).toBeLessThan(1300);

  expect(Math.max(...peak.values())).toBe(4);
});

it('never places more calls on a worker than its capacity', async () => {
  const pool = await threadedPool(2, 4);
  const peak = trackLoad(pool);
  let maxReportedLoad = 0;
  const sampler = setInterval(() => {
    for (const worker of pool.listWorkers()) maxReportedLoad = Math.max(maxReportedLoad, worker.load);
  }, 5);
  try {
    const results = await Promise.all(Array.from({ length: 20 }, (_, index) => pool.execute('sleep_sync', { ms: 50 + (index % 3) * 20 })));
    expect(results).toHaveLength(20);
  } finally {
    clearInterval(sampler);
  }
  expect(peak.size).toBe(2);
  for (const load of peak.values()) expect(load).toBeLessThanOrEqual(4);
  expect(maxReportedLoad).toBeLessThanOrEqual(4);
  expect(pool.stats().counters.completed).toBeGreaterThanOrEqual(20);
});

it('refuses to start an adapter that does not declare itself thread-safe', async () => {
  const pool = createPool({
    adapter: threadedPythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter', python: testPython, threadsPerWorker: 2 }),
    size: 1,
  });
  pools.push(pool);
  const error = await pool.ready().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(SnakepitError.isInstance(error)).toBe(true);
  expect((error as SnakepitError).code).toBe('startup_failed');
  expect((error as SnakepitError).message).toContain('__thread_safe__');
});
