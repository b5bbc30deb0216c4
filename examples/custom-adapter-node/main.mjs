// A pool whose workers are Node.js processes instead of Python ones: same pool, same calls,
// streams, sessions and host tools, through the same worker protocol (proto/PROTOCOL.md).
// Run: node examples/custom-adapter-node/main.mjs
import { createPool } from '@snakepit/sdk';
import { nodeAdapter } from './adapter.js';

const pool = createPool({ adapter: nodeAdapter({ tools: new URL('./tools.js', import.meta.url) }), size: 2 });
pool.tools.register('price_of', ({ sku }) => ({ sku, price: sku === 'tea' ? 4.5 : 3.25 }), {
  description: 'Looks up the price of a product',
});

try {
  await pool.ready();
  console.log(await pool.execute('hello', { name: 'Ada' }));
  console.log('sha256 of bytes:', await pool.execute('sha256', { data: new TextEncoder().encode('snakepit') }));
  for await (const chunk of pool.executeStream('countdown', { from: 3 })) console.log('countdown chunk:', JSON.stringify(chunk));
  console.log('quote via a host tool:', JSON.stringify(await pool.execute('quote', { sku: 'tea' })));
  const session = pool.session('ada');
  await session.execute('visit');
  console.log('session state:', JSON.stringify(await session.execute('visit')));
  try {
    await pool.execute('hello', { nickname: 'Ada' });
  } catch (error) {
    console.log(`refused: ${error.code} (${error.message})`);
  }
  console.log('workers:', pool.listWorkers().map((worker) => `${worker.id} pid ${worker.pid}`).join(', '));
} finally {
  await pool.close();
}
