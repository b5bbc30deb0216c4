/**
 * Two pools (two Node processes' worth) sharing one process-mode worker server, with calls that
 * wait 2 ms on I/O (so the server's event loop is free to see both pools' calls at once): without
 * an admission queue the server refuses every call beyond its capacity and the pools put them back
 * after a pause; with a queue it holds them. Beside them, one pool alone on one server. The
 * refusals per call and the tail latency are the figures to read.
 */
import { runLoad } from '../lib/load.mjs';
import { expectEqual } from '../lib/verify.mjs';
import { peers, withPeer } from '../peers/index.mjs';

const waitMs = 2;

export default {
  id: 'shared-worker',
  title: `${waitMs} ms of I/O wait per call, one worker server shared by two pools`,
  peers: [peers.remotePool(1, 'plaintext'), peers.sharedRemoteWorker(0), peers.sharedRemoteWorker(1), peers.sharedRemoteWorker(4)],
  headline: ['callsPerSecond', 'p99Ms'],
  details: ['p50Ms', 'refusalsPerCall', 'nodeCpuMsPerCall'],
  settings: {
    full: { inFlight: 8, durationMs: 2000, warmUpCalls: 40 },
    quick: { inFlight: 8, durationMs: 1000, warmUpCalls: 16 },
    smoke: { inFlight: 8, durationMs: 0, warmUpCalls: 8, minimumCalls: 16 },
  },

  measure: (peer, load) =>
    withPeer(peer, async (opened) => {
      const call = async () => expectEqual(await opened.call('wait', { ms: waitMs }), waitMs, 'wait');
      const before = opened.refusals();
      const metrics = await runLoad({ call, pythonPids: opened.pythonPids(), ...load });
      metrics.refusalsPerCall = (opened.refusals() - before) / metrics.calls;
      return [{ variant: `${load.inFlight} in flight`, metrics }];
    }),
};
