/**
 * From createPool to every worker ready, and what the ready workers weigh. python-shell has no
 * readiness signal, so its figure runs to the answer of a first call.
 */
import { totalAnonymousMiB, totalRssMiB } from '../lib/memory.mjs';
import { median } from '../lib/stats.mjs';
import { peers, withPeer } from '../peers/index.mjs';

const startOnce = (peer) =>
  withPeer(peer, ({ readyMs, pythonPids }) => ({
    readyMs,
    workersRssMiB: totalRssMiB(pythonPids()),
    workersAnonymousMiB: totalAnonymousMiB(pythonPids()),
  }));

export default {
  id: 'start-to-ready',
  title: 'start to ready',
  peers: [peers.pool(1), peers.pool(4), peers.threadedPool(4), peers.pythonShell],
  headline: ['readyMs'],
  details: ['workersRssMiB', 'workersAnonymousMiB'],
  settings: { full: { samples: 2 }, quick: { samples: 1 }, smoke: { samples: 1 } },

  async measure(peer, { samples }) {
    const starts = [];
    for (let sample = 0; sample < samples; sample++) starts.push(await startOnce(peer));
    const metrics = Object.fromEntries(Object.keys(starts[0]).map((key) => [key, median(starts.map((start) => start[key]))]));
    return [{ variant: 'cold start', metrics }];
  },
};
