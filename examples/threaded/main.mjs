// One threaded Python process runs several calls at once: four 300 ms sleeps finish in about
// 300 ms on a single worker. Run: node examples/threaded/main.mjs
import { createPool } from '@snakepit/sdk';
import { threadedPythonAdapter } from '@snakepit/adapter-python-threaded';

const pool = createPool({
  adapter: threadedPythonAdapter({
    adapter: 'snakepit_bridge.adapters.showcase_threaded.ThreadedShowcaseAdapter',
    threadsPerWorker: 4,
  }),
  size: 1,
});

try {
  await pool.ready();
  const startedAt = Date.now();
  await Promise.all([1, 2, 3, 4].map(() => pool.execute('sleep_sync', { ms: 300 })));
  console.log(`4 x 300 ms sleeps on one worker took ${Date.now() - startedAt} ms`);
  const [worker] = pool.listWorkers();
  console.log(`worker ${worker.id}: capacity ${worker.capacity}, calls served ${worker.callsServed}`);
} finally {
  await pool.close();
}
