/**
 * The pool under test: createPool with the bench's adapter (bench/python/bench_adapter.py), in
 * process mode (`size` workers of one call each) or threaded mode (`threadsPerWorker` calls per
 * worker). Opening waits for every worker, so no figure includes a start. With `sessionStore:
 * 'redis'` the sessions live in a redis-server started for the measurement (lib/redis.mjs).
 */
import { createPool } from '@snakepit/sdk';
import { allWorkersReady } from '../lib/all-ready.mjs';
import { pythonAdapter } from '@snakepit/adapter-python';
import { threadedPythonAdapter } from '@snakepit/adapter-python-threaded';
import { benchPythonDirectory, pythonCommand, repositoryRoot } from '../lib/python.mjs';

const adapterSettings = () => ({
  adapter: 'bench_adapter.BenchAdapter',
  python: pythonCommand(),
  pythonPath: [benchPythonDirectory],
  cwd: repositoryRoot,
});

async function openRedisStore() {
  const [{ startRedis }, { redisSessionStore }] = await Promise.all([import('../lib/redis.mjs'), import('@snakepit/session-store-redis')]);
  const redis = await startRedis();
  const store = redisSessionStore({ url: redis.url });
  return {
    store,
    async close() {
      await store.close();
      await redis.stop();
    },
  };
}

export async function openSnakepit({ size = 1, threadsPerWorker, channel = true, sessionStore } = {}) {
  const settings = { ...adapterSettings(), ...(channel ? {} : { channelMaxRequestBytes: 0 }) };
  const adapter = threadsPerWorker ? threadedPythonAdapter({ ...settings, threadsPerWorker }) : pythonAdapter(settings);
  const redis = sessionStore === 'redis' ? await openRedisStore() : undefined;
  const startedAt = performance.now();
  const pool = createPool({ adapter, size, maxQueue: 10_000, ...(redis ? { sessionStore: redis.store } : {}) });
  await allWorkersReady(pool, size);
  const readyMs = performance.now() - startedAt;
  return {
    pool,
    readyMs,
    pythonPids: () => pool.listWorkers().map((worker) => worker.pid).filter((pid) => pid !== undefined),
    call: (tool, args) => pool.execute(tool, args),
    stream: (tool, args) => pool.executeStream(tool, args),
    close: async () => {
      await pool.close();
      await redis?.close();
    },
  };
}
