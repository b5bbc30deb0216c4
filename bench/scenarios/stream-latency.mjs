/**
 * A slow stream, one chunk every 150 ms: how long a chunk takes from its yield in Python to its
 * arrival in Node. Both sides read the same wall clock: time.time() in Python, and
 * performance.timeOrigin + performance.now() here (Date.now() with sub-millisecond resolution).
 */
import { expectChunkCount, forEachIndexedChunk } from '../lib/chunks.mjs';
import { peers, withPeer } from '../peers/index.mjs';

export default {
  id: 'stream-latency',
  title: 'slow stream, a chunk every 150 ms',
  peers: [peers.pool(1), peers.remotePool(1, 'tls'), peers.pythonShell],
  headline: ['deliveryP50Ms', 'deliveryMaxMs'],
  details: [],
  settings: {
    full: { count: 16, intervalMs: 150 },
    quick: { count: 10, intervalMs: 150 },
    smoke: { count: 3, intervalMs: 150 },
  },

  measure: (peer, { count, intervalMs }) =>
    withPeer(peer, async (opened) => {
      const delays = [];
      const received = await forEachIndexedChunk(opened.stream('timed_chunks', { count, interval_ms: intervalMs }), (chunk) => {
        delays.push(performance.timeOrigin + performance.now() - chunk.yielded_at * 1000);
      });
      expectChunkCount(received, count);
      delays.sort((a, b) => a - b);
      return [
        {
          variant: `${count} chunks`,
          metrics: { deliveryP50Ms: delays[Math.floor(delays.length / 2)], deliveryMaxMs: delays.at(-1) },
          samples: { delaysMs: delays },
        },
      ];
    }),
};
