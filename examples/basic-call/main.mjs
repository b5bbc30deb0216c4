// The smallest use: a pool of warm Python workers, one call, its result. Values round-trip as
// JSON (integers stay integers, null stays null), bytes as raw bytes, and a Python exception
// arrives as a SnakepitError with its type and traceback. Run: node examples/basic-call/main.mjs
import { createPool, SnakepitError } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';

const pool = createPool({
  adapter: pythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter' }),
  size: 2,
});

try {
  console.log('add(40, 2) =', await pool.execute('add', { a: 40, b: 2 }));
  const order = { id: 7, items: [{ sku: 'tea', quantity: 2 }], coupon: null, note: 'thé ✓' };
  console.log('echoed by Python:', JSON.stringify(await pool.execute('echo', { order })));
  const bytes = await pool.execute('echo_bytes', { data: new Uint8Array([0, 1, 254, 255]) });
  console.log(`bytes back: ${bytes instanceof Uint8Array ? 'a Uint8Array' : typeof bytes} [${Array.from(bytes).join(', ')}]`);
  try {
    await pool.execute('fail', { message: 'no such order', kind: 'KeyError' });
  } catch (error) {
    if (!SnakepitError.isInstance(error)) throw error;
    console.log(`Python raised: ${error.code} ${error.pythonType}: ${error.message}`);
    console.log(`its traceback ends with: ${error.pythonTraceback.trim().split('\n').at(-1)}`);
  }
} finally {
  // Closing stops the workers; a pool left open keeps Node running.
  await pool.close();
}
