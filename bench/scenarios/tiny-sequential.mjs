/** Tiny calls one after another: the fixed cost of a call, and where its CPU goes. */
import { runLoad } from '../lib/load.mjs';
import { tinyCall } from '../lib/tiny-call.mjs';
import { peers, withPeer } from '../peers/index.mjs';

export default {
  id: 'tiny-sequential',
  title: 'tiny call, sequential',
  peers: [
    peers.pool(1),
    peers.poolWithoutChannel(1),
    peers.remotePool(1, 'tls'),
    peers.remotePool(1, 'plaintext'),
    peers.pythonShell,
    peers.http2,
    peers.http2Bidi,
    peers.connect,
  ],
  headline: ['callsPerSecond', 'p50Ms'],
  details: ['p99Ms', 'nodeCpuMsPerCall', 'pythonCpuMsPerCall'],
  settings: {
    full: { durationMs: 1500, warmUpCalls: 500 },
    quick: { durationMs: 1000, warmUpCalls: 200 },
    smoke: { durationMs: 0, warmUpCalls: 2, minimumCalls: 10 },
  },

  measure: (peer, settings) =>
    withPeer(peer, async (opened) => [
      {
        variant: '1 in flight',
        metrics: await runLoad({ call: tinyCall(peer, opened), inFlight: 1, pythonPids: opened.pythonPids(), ...settings }),
      },
    ]),
};
