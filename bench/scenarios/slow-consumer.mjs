/**
 * A fast producer and a slow consumer: Python yields large chunks as fast as it can, Node takes
 * one every few milliseconds. With backpressure both sides' memory stays flat; without it the
 * chunks pile up somewhere. RSS of Node and of Python is sampled over time (the series is in the
 * JSON); the table shows the peak growth over the RSS just before the stream started, and the
 * longest a chunk waited between its yield and the consumer taking it: with backpressure a few
 * chunks' worth of consumer time, without it most of the stream's length.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expectChunkCount, forEachIndexedChunk } from '../lib/chunks.mjs';
import { startMemorySampler } from '../lib/memory.mjs';
import { peers, withPeer } from '../peers/index.mjs';

export default {
  id: 'slow-consumer',
  title: 'slow consumer of a fast stream',
  peers: [peers.pool(1), peers.pythonShell],
  headline: ['nodeRssGrowthMiB', 'pythonRssGrowthMiB'],
  details: ['chunkWaitMaxMs', 'consumeSeconds'],
  settings: {
    full: { count: 1500, chunkBytes: 32 * 1024, consumerDelayMs: 1, sampleEveryMs: 50 },
    quick: { count: 1000, chunkBytes: 32 * 1024, consumerDelayMs: 1, sampleEveryMs: 50 },
    smoke: { count: 20, chunkBytes: 1024, consumerDelayMs: 1, sampleEveryMs: 10 },
  },

  measure: (peer, { count, chunkBytes, consumerDelayMs, sampleEveryMs }) =>
    withPeer(peer, async (opened) => {
      const stopSampler = startMemorySampler(opened.pythonPids(), sampleEveryMs);
      const startedAt = performance.now();
      let chunkWaitMaxMs = 0;
      const received = await forEachIndexedChunk(opened.stream('large_chunks', { count, size: chunkBytes }), (chunk) => {
        if (chunk.text.length !== chunkBytes) throw new Error(`chunk ${chunk.index} holds ${chunk.text.length} characters`);
        chunkWaitMaxMs = Math.max(chunkWaitMaxMs, performance.timeOrigin + performance.now() - chunk.yielded_at * 1000);
        return sleep(consumerDelayMs);
      });
      const consumeSeconds = (performance.now() - startedAt) / 1000;
      const { series, nodeRssGrowthMiB, pythonRssGrowthMiB } = stopSampler();
      expectChunkCount(received, count);
      return [
        {
          variant: `${count} × ${chunkBytes / 1024} KiB, ${consumerDelayMs} ms per chunk`,
          metrics: { nodeRssGrowthMiB, pythonRssGrowthMiB, chunkWaitMaxMs, consumeSeconds },
          samples: { series },
        },
      ];
    }),
};
