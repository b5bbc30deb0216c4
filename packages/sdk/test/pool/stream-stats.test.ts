/**
 * When a consumer sees its stream end, the pool agrees: `stats()` right after the loop shows the
 * worker idle and nothing in flight, however the stream ended (last chunk, `break`, `'halt'`).
 */
import { describe, expect, it } from 'vitest';
import type { AdapterV1, AdapterWorkerV1 } from '../../src/adapter/v1/adapter.js';
import type { Chunk } from '../../src/wire/chunk.js';
import { createInMemoryAdapter } from '../../src/testing/index.js';
import { createPool } from '../../src/pool/pool.js';
import { temporaryDataDir, testPool, Toolbox } from './pool-test-support.js';
import type { Pool } from '../../src/pool/pool-interface.js';

function idle(pool: Pool) {
  const stats = pool.stats();
  return { busy: stats.workers.busy, inFlight: stats.inFlight };
}

describe('stats() right after a stream ends', () => {
  it('after the last chunk: busy 0, inFlight 0', async () => {
    const { pool } = testPool();
    await pool.ready();
    for (let round = 0; round < 5; round += 1) {
      const chunks: Chunk[] = [];
      for await (const chunk of pool.executeStream('ticks', { limit: 3 })) chunks.push(chunk);
      expect(chunks).toHaveLength(4);
      expect(idle(pool)).toEqual({ busy: 0, inFlight: 0 });
    }
  });

  it('after break: busy 0, inFlight 0', async () => {
    const { pool, toolbox } = testPool();
    await pool.ready();
    for await (const _chunk of pool.executeStream('ticks', { limit: 100, name: 'broken' })) break;
    expect(idle(pool)).toEqual({ busy: 0, inFlight: 0 });
    expect(toolbox.streamClosed.get('broken')).toBe(true);
  });

  it("after the callback form, ended or halted: busy 0, inFlight 0", async () => {
    const { pool } = testPool();
    await pool.ready();
    await pool.executeStream('ticks', { limit: 3 }, () => undefined);
    expect(idle(pool)).toEqual({ busy: 0, inFlight: 0 });
    await pool.executeStream('ticks', { limit: 100 }, () => 'halt' as const);
    expect(idle(pool)).toEqual({ busy: 0, inFlight: 0 });
  });

  it('an adapter whose stream never finishes closing does not hang the consumer', async () => {
    const inner = createInMemoryAdapter({ tools: new Toolbox().tools });
    const stuck: AdapterV1 = {
      specificationVersion: 'v1',
      name: 'stuck-return',
      async doStartWorker(context) {
        const worker = await inner.doStartWorker(context);
        return Object.assign(Object.create(worker) as AdapterWorkerV1, {
          doStream: (request: Parameters<AdapterWorkerV1['doStream']>[0], callContext: Parameters<AdapterWorkerV1['doStream']>[1]) => {
            const iterator = worker.doStream(request, callContext)[Symbol.asyncIterator]();
            return {
              [Symbol.asyncIterator]: () => ({
                next: () => iterator.next(),
                return: () => new Promise<IteratorResult<Chunk>>(() => {}),
              }),
            };
          },
        });
      },
    };
    const pool = createPool({ adapter: stuck, size: 1, dataDir: temporaryDataDir(), hostBridge: false });
    try {
      await pool.ready();
      const startedAt = performance.now();
      for await (const _chunk of pool.executeStream('ticks', { limit: 100 })) break;
      const waited = performance.now() - startedAt;
      expect(waited).toBeLessThan(3_000);
      // The worker really is still held by the unfinished iterator, and stats says so.
      expect(pool.stats().workers.busy).toBe(1);
    } finally {
      await pool.close({ force: true, timeoutMs: 1_000 });
    }
  });
});
