/** Tiny calls with 16 and 64 outstanding: how far pool size and the transport carry throughput. */
import { runLoad } from '../lib/load.mjs';
import { tinyCall } from '../lib/tiny-call.mjs';
import { peers, withPeer } from '../peers/index.mjs';

export default {
  id: 'tiny-in-flight',
  title: 'tiny calls, many in flight',
  peers: [
    peers.pool(1),
    peers.pool(2),
    peers.poolWithoutChannel(2),
    peers.remotePool(2, 'tls'),
    peers.remotePool(2, 'plaintext'),
    peers.pool(4),
    peers.threadedPool(4),
    peers.pythonShell,
    peers.http2,
    peers.http2Bidi,
    peers.connect,
  ],
  headline: ['callsPerSecond'],
  details: ['p50Ms', 'p99Ms', 'nodeCpuMsPerCall', 'pythonCpuMsPerCall'],
  settings: {
    full: { levels: [16, 64], durationMs: 1200, warmUpCalls: 400 },
    quick: { levels: [16, 64], durationMs: 700, warmUpCalls: 200 },
    smoke: { levels: [16, 64], durationMs: 0, warmUpCalls: 16, minimumCalls: 64 },
  },

  measure: (peer, { levels, ...load }) =>
    withPeer(peer, async (opened) => {
      const rows = [];
      for (const inFlight of levels) {
        const metrics = await runLoad({ call: tinyCall(peer, opened), inFlight, pythonPids: opened.pythonPids(), ...load });
        rows.push({ variant: `${inFlight} in flight`, metrics });
      }
      return rows;
    }),
};
