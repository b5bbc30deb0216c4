/** One stream of many tiny chunks, read as fast as it comes: chunks/s and CPU per chunk. */
import { expectChunkCount, forEachIndexedChunk } from '../lib/chunks.mjs';
import { timeRepeats } from '../lib/repeat.mjs';
import { median } from '../lib/stats.mjs';
import { peers, withPeer } from '../peers/index.mjs';

/** Reads one stream of `count` chunks from any peer; returns the chunks received. */
async function readStream(peer, opened, count) {
  if (peer.kind !== 'floor') return forEachIndexedChunk(opened.stream('counted_chunks', { count }));
  let received = 0;
  await opened.serverStream(count, () => received++);
  return received;
}

export default {
  id: 'stream-throughput',
  title: 'stream of tiny chunks',
  peers: [peers.pool(1), peers.remotePool(1, 'tls'), peers.remotePool(1, 'plaintext'), peers.pythonShell, peers.http2, peers.connect],
  headline: ['chunksPerSecond'],
  details: ['nodeCpuMicrosecondsPerChunk', 'pythonCpuMicrosecondsPerChunk'],
  settings: {
    full: { count: 20_000, warmUpCount: 2_000, repeats: 3, budgetMs: 2500 },
    quick: { count: 20_000, warmUpCount: 2_000, repeats: 2, budgetMs: 2000 },
    smoke: { count: 200, warmUpCount: 10, repeats: 1 },
  },

  measure: (peer, { count, warmUpCount, ...repeats }) =>
    withPeer(peer, async (opened) => {
      expectChunkCount(await readStream(peer, opened, warmUpCount), warmUpCount);
      const once = async () => expectChunkCount(await readStream(peer, opened, count), count);
      const { durations, nodeCpuMs, pythonCpuMs } = await timeRepeats(once, { ...repeats, pythonPids: opened.pythonPids() });
      const chunks = count * durations.length;
      return [
        {
          variant: `${count} chunks`,
          metrics: {
            chunksPerSecond: (count / median(durations)) * 1000,
            nodeCpuMicrosecondsPerChunk: (nodeCpuMs * 1000) / chunks,
            pythonCpuMicrosecondsPerChunk: (pythonCpuMs * 1000) / chunks,
          },
        },
      ];
    }),
};
