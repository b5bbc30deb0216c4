// A session pins a user's calls to one worker and keeps key/value state in the pool's store, so the
// state outlives any one Python process. Run: node examples/sessions-and-state/main.mjs
import { createPool } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';

const pool = createPool({
  adapter: pythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter' }),
  size: 2,
  sessions: { ttlMs: 10 * 60_000, maxSessions: 1000 },
});

try {
  const alice = pool.session('alice');
  // Python writes the session's state through the host bridge...
  await alice.execute('state_set', { key: 'cart', value: [{ sku: 'tea', quantity: 2 }] });
  // ...Node reads it directly from the store...
  console.log('cart seen from Node:', JSON.stringify(await alice.state.get('cart')));
  // ...and a later Python call of the same session reads it back, whichever worker serves it.
  await alice.state.set('coupon', 'WELCOME10');
  console.log('coupon seen from Python:', await alice.execute('state_get', { key: 'coupon' }));
  console.log('session id seen by Python:', (await alice.execute('session_info')).session_id);
} finally {
  await pool.close();
}
