// Host tools are Node functions that Python tools may call: a database lookup, a cache, a client
// holding credentials that Python never sees. Run: node examples/host-tools/main.mjs
import { createPool } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';

const pool = createPool({
  adapter: pythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter' }),
  size: 1,
});

const prices = new Map([
  ['tea', 4.5],
  ['coffee', 3.25],
]);
pool.tools.register('price_of', async ({ sku }, { sessionId }) => {
  if (!prices.has(sku)) throw new Error(`no price for ${sku}`);
  return { sku, price: prices.get(sku), askedBy: sessionId ?? null };
}, { description: 'Looks up the price of a product', parameters: { sku: 'string' } });

try {
  // `call_host` is a showcase tool that runs `context.call_host_tool(name, **args)` in Python.
  console.log('from Python:', await pool.executeInSession('bob', 'call_host', { name: 'price_of', args: { sku: 'tea' } }));
  try {
    await pool.execute('call_host', { name: 'price_of', args: { sku: 'cake' } });
  } catch (error) {
    console.log(`a failing host tool surfaces in Python, then in Node: ${error.code} ${error.pythonType}: ${error.message}`);
  }
} finally {
  await pool.close();
}
