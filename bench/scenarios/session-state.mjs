/**
 * Session calls whose Python side goes back to Node through the host bridge: one that reads and
 * writes the session's state (two host round trips), one that calls a host tool (one), and a plain
 * tiny call in the same session for reference. Against the in-memory session store and the Redis
 * one (a local redis-server), so the row shows what a shared store costs per call. python-shell has
 * no way back to Node, so no peer.
 */
import { runLoad } from '../lib/load.mjs';
import { tinyPayload } from '../lib/tiny-call.mjs';
import { expectEqual } from '../lib/verify.mjs';
import { peers, withPeer } from '../peers/index.mjs';

export default {
  id: 'session-state',
  title: 'session calls through the host bridge',
  peers: [peers.pool(1), peers.poolWithRedisStore(1)],
  headline: ['callsPerSecond'],
  details: ['p50Ms', 'p99Ms', 'nodeCpuMsPerCall', 'pythonCpuMsPerCall'],
  settings: {
    full: { durationMs: 1000, warmUpCalls: 200 },
    quick: { durationMs: 700, warmUpCalls: 100 },
    smoke: { durationMs: 0, warmUpCalls: 2, minimumCalls: 10 },
  },

  measure: (peer, load) =>
    withPeer(peer, async ({ pool, pythonPids }) => {
      pool.tools.register('bench_add', ({ a, b }) => a + b, { description: 'a + b, for the bench' });
      const session = pool.session('bench-session');
      let counter = 0;
      const variants = {
        'tiny call': async () => expectEqual(await session.execute('echo', tinyPayload), tinyPayload, 'echo'),
        'state get + set': async () => expectEqual(await session.execute('session_counter'), ++counter, 'session_counter'),
        'host tool call': async () => expectEqual(await session.execute('host_add', { a: counter, b: 1 }), counter + 1, 'host_add'),
      };
      const rows = [];
      for (const [variant, call] of Object.entries(variants)) {
        rows.push({ variant, metrics: await runLoad({ call, inFlight: 1, pythonPids: pythonPids(), ...load }) });
      }
      expectEqual(await session.state.get('counter'), counter, "the session's counter as Node sees it");
      return rows;
    }),
};
