// Every call has one deadline (queue wait included), and an AbortSignal can stop it earlier. Either
// way the Python side is cancelled too: an async tool gets CancelledError, a stream's generator is
// closed, and the worker goes on serving. Run: node examples/cancellation-and-timeouts/main.mjs
import { createPool } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';

const pool = createPool({
  adapter: pythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter' }),
  size: 1,
  timeoutMs: 30_000, // the default deadline of a unary call (streams: streamTimeoutMs, 300 s)
  queueTimeoutMs: 200, // how long a call may wait for a free worker
});

async function codeOf(call) {
  try {
    await call;
    return 'ok';
  } catch (error) {
    return `${error.code} (${error.message})`;
  }
}

try {
  await pool.ready();
  const [worker] = pool.listWorkers();
  let startedAt = Date.now();
  console.log('1. a deadline:', await codeOf(pool.execute('sleep', { ms: 5000 }, { timeoutMs: 300 })), `after ${Date.now() - startedAt} ms`);

  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  startedAt = Date.now();
  console.log('2. an AbortSignal:', await codeOf(pool.execute('sleep', { ms: 5000 }, { signal: controller.signal })), `after ${Date.now() - startedAt} ms`);
  // The showcase's async sleep counts the CancelledErrors it received.
  console.log('   Python saw cancellations:', await pool.execute('cancelled_count', { name: 'sleep' }));

  let ticks = 0;
  for await (const _chunk of pool.executeStream('stream_ticks', { name: 'demo', delay_ms: 20 })) {
    if (++ticks === 3) break; // leaving the loop cancels the stream
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  console.log('3. a stream left after 3 chunks; its generator:', JSON.stringify(await pool.execute('stream_state', { name: 'demo' })));

  // One worker, busy for a second: the second call waits in the queue, at most queueTimeoutMs.
  const busy = pool.execute('sleep', { ms: 1000 });
  console.log('4. no free worker in time:', await codeOf(pool.execute('add', { a: 1, b: 2 })));
  await busy;

  const sum = await pool.execute('add', { a: 1, b: 2 });
  const samePython = pool.listWorkers().every((each) => each.pid === worker.pid);
  console.log(`5. still served by the same Python process: ${samePython}, add(1, 2) = ${sum}`);
} finally {
  await pool.close();
}
