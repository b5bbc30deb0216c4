import { describe, expect, it } from 'vitest';
import { SnakepitError } from '../../src/errors.js';
import type { Chunk } from '../../src/wire/chunk.js';
import { EventLog, eventually, expectCode, failureOf, sleep, testPool } from './pool-test-support.js';

describe('AbortSignal', () => {
  it('refuses a call whose signal is already aborted, without running it', async () => {
    const { pool, adapter } = testPool();
    await pool.ready();
    const controller = new AbortController();
    controller.abort('changed my mind');
    const error = await expectCode(pool.execute('echo', {}, { signal: controller.signal }), 'aborted');
    expect(error.cause).toBe('changed my mind');
    expect(adapter.callCount()).toBe(0);
  });

  it('takes an aborted call out of the queue at once and never runs it', async () => {
    const { pool, adapter, toolbox } = testPool({ size: 1 });
    await pool.ready();
    const log = new EventLog(pool, ['queue:leave']);
    const running = pool.execute('wait', { name: 'running' });
    const controller = new AbortController();
    const queued = pool.execute('sleep', { ms: 1 }, { signal: controller.signal });
    await sleep(20);
    const abortedAt = performance.now();
    controller.abort();
    await expectCode(queued, 'aborted');
    expect(performance.now() - abortedAt).toBeLessThan(30);
    toolbox.release('running');
    await running;
    await sleep(20);
    expect(adapter.callCount('sleep')).toBe(0);
    expect(log.of('queue:leave')).toMatchObject([{ reason: 'aborted' }]);
    expect(pool.stats().counters.aborted).toBe(1);
  });

  it('rejects a running call at once and cancels it on the worker with the same error', async () => {
    let reason: unknown;
    const { pool, toolbox } = testPool(
      { size: 1 },
      {
        tools: {
          watch: (_args, context) =>
            new Promise((_, reject) => {
              context.signal.addEventListener('abort', () => {
                reason = context.signal.reason;
                reject(context.signal.reason);
              });
            }),
        },
      },
    );
    await pool.ready();
    const controller = new AbortController();
    const call = pool.execute('watch', {}, { signal: controller.signal });
    await sleep(20);
    controller.abort();
    const error = await expectCode(call, 'aborted');
    expect(reason).toBe(error);
    // The worker is free again.
    await expect(pool.execute('echo', { again: true })).resolves.toEqual({ again: true });
    expect(toolbox.cancelled).toEqual([]);
  });

  it('answers the caller at once but keeps the worker busy until its cancellation finished', async () => {
    const { pool, adapter } = testPool({ size: 1 }, { cancelDelayMs: 150 });
    await pool.ready();
    const log = new EventLog(pool, ['call:start']);
    const controller = new AbortController();
    const first = pool.execute('sleep', { ms: 5_000 }, { signal: controller.signal });
    await sleep(20);
    const abortedAt = performance.now();
    controller.abort();
    await expectCode(first, 'aborted');
    expect(performance.now() - abortedAt).toBeLessThan(40);
    const second = pool.execute('whoami');
    await second;
    const [, secondStart] = log.of('call:start');
    // The second call waited for the worker to finish cancelling (no overlap on a capacity-1 worker).
    expect(secondStart!.waitMs).toBeGreaterThanOrEqual(100);
    expect(adapter.peakConcurrency()).toBe(1);
  });

  it('times a running call out and aborts the worker side with the timeout error', async () => {
    let reason: unknown;
    const { pool } = testPool(
      { size: 1, timeoutMs: 100 },
      {
        tools: {
          forever: (_args, context) =>
            new Promise((_, reject) =>
              context.signal.addEventListener('abort', () => {
                reason = context.signal.reason;
                reject(context.signal.reason);
              }),
            ),
        },
      },
    );
    await pool.ready();
    const startedAt = performance.now();
    const error = await expectCode(pool.execute('forever'), 'timeout');
    const elapsed = performance.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(250);
    expect(reason).toBe(error);
    expect(pool.stats().counters.timedOut).toBe(1);
  });
});

describe('streams', () => {
  it('is lazy: nothing runs until iteration starts', async () => {
    const { pool, adapter } = testPool();
    await pool.ready();
    const stream = pool.executeStream('ticks', { limit: 2 });
    await sleep(20);
    expect(adapter.callCount('ticks')).toBe(0);
    const chunks: Chunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks).toEqual([{ tick: 0, is_final: false }, { tick: 1, is_final: false }, { is_final: true }]);
  });

  it('ends on a final chunk the tool sends itself, with exactly one final chunk', async () => {
    const { pool } = testPool(
      {},
      {
        tools: {
          finishes: async function* () {
            yield { step: 1 };
            yield { step: 2, is_final: true };
            yield { step: 3 };
          },
        },
      },
    );
    const chunks: Chunk[] = [];
    for await (const chunk of pool.executeStream('finishes')) chunks.push(chunk);
    expect(chunks).toEqual([{ step: 1, is_final: false }, { step: 2, is_final: true }]);
  });

  it('break frees the worker and stops the producer', async () => {
    const { pool, toolbox } = testPool({ size: 1 });
    await pool.ready();
    const log = new EventLog(pool, ['call:end']);
    let seen = 0;
    for await (const chunk of pool.executeStream('ticks', { name: 'endless', limit: 1_000_000, delayMs: 2 })) {
      expect(chunk.is_final).toBe(false);
      seen += 1;
      if (seen === 3) break;
    }
    await eventually(() => expect(toolbox.streamClosed.get('endless')).toBe(true));
    await expect(pool.execute('echo', { next: 1 })).resolves.toEqual({ next: 1 });
    expect(log.of('call:end')[0]).toMatchObject({ tool: 'ticks', halted: true });
    expect(pool.stats().counters).toMatchObject({ completed: 2, failed: 0 });
  });

  it('return() on a manual iterator frees the worker and stops the producer', async () => {
    const { pool, toolbox } = testPool({ size: 1 });
    await pool.ready();
    const stream = pool.executeStream('ticks', { name: 'manual', limit: 1_000_000, delayMs: 2 });
    expect((await stream.next()).value).toEqual({ tick: 0, is_final: false });
    await expect(stream.return!()).resolves.toEqual({ done: true, value: undefined });
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
    await eventually(() => expect(toolbox.streamClosed.get('manual')).toBe(true));
    await expect(pool.execute('echo', {})).resolves.toEqual({});
  });

  it('an error thrown in the loop body stops the producer and reaches the caller unchanged', async () => {
    const { pool, toolbox } = testPool({ size: 1 });
    await pool.ready();
    const mine = new Error('consumer failed');
    await expect(
      (async () => {
        for await (const _chunk of pool.executeStream('ticks', { name: 'thrown', limit: 1_000_000, delayMs: 2 })) {
          throw mine;
        }
      })(),
    ).rejects.toBe(mine);
    await eventually(() => expect(toolbox.streamClosed.get('thrown')).toBe(true));
    await expect(pool.execute('echo', {})).resolves.toEqual({});
  });

  it("a callback returning 'halt' (or a promise of it) stops the stream early", async () => {
    const { pool, toolbox } = testPool({ size: 1 });
    await pool.ready();
    const seen: Chunk[] = [];
    await pool.executeStream('ticks', { name: 'halted', limit: 1_000_000, delayMs: 1 }, (chunk) => {
      seen.push(chunk);
      return seen.length === 2 ? 'halt' : undefined;
    });
    expect(seen).toHaveLength(2);
    await eventually(() => expect(toolbox.streamClosed.get('halted')).toBe(true));
    const later: Chunk[] = [];
    await pool.executeStream('ticks', { name: 'async-halt', limit: 1_000_000, delayMs: 1 }, async (chunk) => {
      later.push(chunk);
      await sleep(1);
      // `as const`: TypeScript widens a literal returned from an async arrow against this union type.
      return 'halt' as const;
    });
    expect(later).toHaveLength(1);
    await eventually(() => expect(toolbox.streamClosed.get('async-halt')).toBe(true));
    await expect(pool.execute('echo', {})).resolves.toEqual({});
  });

  it('a callback consumes the whole stream when it never halts', async () => {
    const { pool } = testPool();
    const seen: Chunk[] = [];
    await pool.executeStream('ticks', { limit: 3 }, (chunk) => void seen.push(chunk));
    expect(seen.map((chunk) => chunk.is_final)).toEqual([false, false, false, true]);
  });

  it('times out as a whole (streamTimeoutMs), stops the producer and frees the worker', async () => {
    const { pool, toolbox } = testPool({ size: 1, streamTimeoutMs: 120 });
    await pool.ready();
    const startedAt = performance.now();
    const chunks: Chunk[] = [];
    const error = await failureOf(
      (async () => {
        for await (const chunk of pool.executeStream('ticks', { name: 'slow', limit: 1_000, delayMs: 30 })) chunks.push(chunk);
      })(),
    );
    expect(error.code).toBe('timeout');
    expect(performance.now() - startedAt).toBeLessThan(300);
    expect(chunks.length).toBeGreaterThan(0);
    await eventually(() => expect(toolbox.streamClosed.get('slow')).toBe(true));
    await expect(pool.execute('echo', {})).resolves.toEqual({});
  });

  it('reports a failure that happened between two next() calls on the following next()', async () => {
    const { pool } = testPool({ size: 1 });
    await pool.ready();
    const controller = new AbortController();
    const stream = pool.executeStream('ticks', { limit: 1_000, delayMs: 1 }, { signal: controller.signal });
    await stream.next();
    controller.abort();
    await expectCode(stream.next(), 'aborted');
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('a stream stopped while queued is never run', async () => {
    const { pool, adapter, toolbox } = testPool({ size: 1 });
    await pool.ready();
    const running = pool.execute('wait', { name: 'running' });
    const stream = pool.executeStream('ticks', { limit: 2 });
    const first = stream.next();
    await sleep(10);
    expect(pool.stats().queueLength).toBe(1);
    await stream.return!();
    await expect(first).resolves.toEqual({ done: true, value: undefined });
    expect(pool.stats().queueLength).toBe(0);
    toolbox.release('running');
    await running;
    await sleep(20);
    expect(adapter.callCount('ticks')).toBe(0);
  });

  it('a tool error mid-stream reaches the consumer as a SnakepitError', async () => {
    const { pool } = testPool(
      {},
      {
        tools: {
          breaks: async function* () {
            yield { ok: 1 };
            throw new RangeError('bad step');
          },
        },
      },
    );
    const seen: Chunk[] = [];
    const error = await failureOf(
      (async () => {
        for await (const chunk of pool.executeStream('breaks')) seen.push(chunk);
      })(),
    );
    expect(seen).toEqual([{ ok: 1, is_final: false }]);
    expect(SnakepitError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'python_error', pythonType: 'RangeError', message: 'bad step' });
    await expect(pool.execute('echo', {})).resolves.toEqual({});
  });
});
