/**
 * Unary calls on the worker's call channel and batched stream chunks, against real Python workers:
 * cancellation and deadlines reach the Python task, a crash or a broken channel fails the calls in
 * flight at once with typed errors and the pool serves on, a large call never holds up small ones,
 * and batched streams keep order, memory bounds and the timing of a slow producer.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, type Pool, type PoolOptions } from '@snakepit/sdk';
import { failureOf } from '@snakepit/sdk/testing';
import { isAlive, testPython, waitUntil } from './python-under-test.js';
import { createPythonServerAdapter, pythonAdapter, type PythonAdapterSettings } from '../src/index.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'python');
const settings: PythonAdapterSettings = { adapter: 'wire_fixtures.WireFixturesAdapter', python: testPython, pythonPath: [fixtures] };

const pools: Pool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 5_000 })));
});

function processPool(options: Omit<PoolOptions, 'adapter'> = {}): Pool {
  const pool = createPool({ adapter: pythonAdapter(settings), size: 1, ...options });
  pools.push(pool);
  return pool;
}

function threadedPool(options: Omit<PoolOptions, 'adapter'> = {}, extra: Partial<PythonAdapterSettings> = {}): Pool {
  // What @snakepit/adapter-python-threaded starts (that package depends on this one).
  const adapter = createPythonServerAdapter({ ...settings, ...extra }, {
    name: 'python-threaded',
    serverArgs: ['--mode', 'threaded', '--threads', '4'],
  });
  const pool = createPool({ adapter, size: 1, ...options });
  pools.push(pool);
  return pool;
}

function onlyPid(pool: Pool): number {
  const [worker] = pool.listWorkers();
  return worker!.pid!;
}

describe('unary calls on the call channel', () => {
  it('an aborted call cancels its Python task, and the same worker serves the next call', async () => {
    const pool = processPool();
    await pool.ready();
    const pid = onlyPid(pool);
    const before = (await pool.execute('cancelled_count', { name: 'sleep' })) as number;
    const controller = new AbortController();
    const call = pool.execute('sleep', { ms: 10_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    expect((await failureOf(call)).code).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await waitUntilValue(() => pool.execute('cancelled_count', { name: 'sleep' }), before + 1)).toBe(true);
    expect(await pool.execute('echo', { n: 1 })).toEqual({ n: 1 });
    expect(onlyPid(pool)).toBe(pid);
  });

  it('a deadline that expires cancels the Python task with a timeout', async () => {
    const pool = processPool();
    await pool.ready();
    const before = (await pool.execute('cancelled_count', { name: 'sleep' })) as number;
    const started = Date.now();
    expect((await failureOf(pool.execute('sleep', { ms: 10_000 }, { timeoutMs: 300 }))).code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await waitUntilValue(() => pool.execute('cancelled_count', { name: 'sleep' }), before + 1)).toBe(true);
  });

  it('a sync tool sees the cancel through its session context', async () => {
    const pool = processPool();
    await pool.ready();
    const before = (await pool.execute('cancelled_count', { name: 'wait_for_cancel' })) as number;
    expect((await failureOf(pool.execute('wait_for_cancel', { timeout_ms: 10_000 }, { timeoutMs: 300 }))).code).toBe('timeout');
    expect(await waitUntilValue(() => pool.execute('cancelled_count', { name: 'wait_for_cancel' }), before + 1)).toBe(true);
  });

  it('a crash during a call fails it at once with worker_exit, and the pool heals', async () => {
    const pool = processPool();
    await pool.ready();
    const pid = onlyPid(pool);
    const started = Date.now();
    const error = await failureOf(pool.execute('crash', { code: 7, delay_ms: 100 }));
    expect(error.code).toBe('worker_exit');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await waitUntil(() => !isAlive(pid), 5_000)).toBe(true);
    expect(await pool.execute('echo', { after: 'crash' }, { timeoutMs: 30_000 })).toEqual({ after: 'crash' });
    expect(onlyPid(pool)).not.toBe(pid);
  });

  it('a channel broken while the process lives on fails its calls with typed errors; later calls succeed', async () => {
    const pool = threadedPool();
    await pool.ready();
    const pid = onlyPid(pool);
    const before = (await pool.execute('cancelled_count', { name: 'sleep' })) as number;
    const sleeping = pool.execute('sleep', { ms: 10_000 });
    const started = Date.now();
    const [sleepError, dropError] = await Promise.all([
      failureOf(sleeping),
      failureOf(pool.execute('drop_connections', { delay_ms: 100 })),
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const error of [sleepError, dropError]) {
      expect(error.code).toBe('transport_error');
      expect(error.details.workerId).toBeDefined();
    }
    expect(isAlive(pid)).toBe(true);
    expect(await pool.execute('echo', { again: true })).toEqual({ again: true });
    expect(onlyPid(pool)).toBe(pid);
    // The worker stopped the call whose channel went away.
    expect(await waitUntilValue(() => pool.execute('cancelled_count', { name: 'sleep' }), before + 1)).toBe(true);
  });

  it('a large call runs beside small calls on a threaded worker without holding them up', async () => {
    const pool = threadedPool();
    await pool.ready();
    const data = new Uint8Array(48 * 1024 * 1024).map((_, index) => index % 251);
    let largeDone = false;
    const large = pool.execute('bytes_info', { data }).then((info) => {
      largeDone = true;
      return info as { length: number };
    });
    // Small calls one after another for as long as the large one runs: none waits behind it.
    let smallWhileLargeRan = 0;
    for (let index = 0; !largeDone && index < 5_000; index++) {
      expect(await pool.execute('add', { a: index, b: 1 })).toBe(index + 1);
      if (!largeDone) smallWhileLargeRan++;
    }
    expect((await large).length).toBe(data.length);
    expect(smallWhileLargeRan).toBeGreaterThanOrEqual(5);
  });

  it('a result above maxMessageBytes fails only its own call, not the others on the channel', async () => {
    const pool = threadedPool({}, { maxMessageBytes: 1 << 20 });
    await pool.ready();
    const bystander = pool.execute('sleep', { ms: 500 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const error = await failureOf(pool.execute('make_bytes', { size: 2 << 20 }));
    expect(error.code).toBe('transport_error');
    expect(error.details).toMatchObject({ reason: 'result_too_large', limit: 1 << 20 });
    expect(await bystander).toEqual({ slept_ms: 500 });
    expect(await pool.execute('add', { a: 1, b: 2 })).toBe(3);
  });

  it('session calls keep their session id and correlation id on the channel', async () => {
    const pool = processPool();
    const info = (await pool.executeInSession('user-7', 'session_info', {}, { correlationId: 'corr-channel-1' })) as Record<string, unknown>;
    expect(info.session_id).toBe('user-7');
    expect(info.correlation_id).toBe('corr-channel-1');
  });

  it('close() stops a worker with an open channel gracefully, well within the stop grace', async () => {
    const pool = processPool();
    const exits: Array<{ code: number | null; signal: string | null }> = [];
    pool.on('worker:exit', ({ code, signal }) => exits.push({ code, signal }));
    expect(await pool.execute('echo', { before: 'close' })).toEqual({ before: 'close' });
    const started = Date.now();
    await pool.close();
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(exits).toEqual([{ code: 0, signal: null }]);
  });

  it('sends every call as its own RPC with channelMaxRequestBytes 0, with the same results', async () => {
    const pool = createPool({ adapter: pythonAdapter({ ...settings, channelMaxRequestBytes: 0 }), size: 1 });
    pools.push(pool);
    expect(await pool.execute('add', { a: 2, b: 3 })).toBe(5);
    expect((await failureOf(pool.execute('sleep', { ms: 10_000 }, { timeoutMs: 300 }))).code).toBe('timeout');
    expect(() => pythonAdapter({ ...settings, channelMaxRequestBytes: -1 })).toThrow(
      expect.objectContaining({ name: 'SnakepitError', code: 'invalid_parameter', details: expect.objectContaining({ key: 'channelMaxRequestBytes' }) }),
    );
    // A frame above the worker's message limit would end the channel under every call on it.
    expect(() => pythonAdapter({ ...settings, maxMessageBytes: 1 << 20, channelMaxRequestBytes: 1 << 20 })).toThrow(/half of maxMessageBytes/);
  });
});

describe('batched stream chunks', () => {
  it('a fast stream with a slow consumer keeps memory bounded, order, and exactly one final chunk', async () => {
    const pool = threadedPool();
    await pool.ready();
    const count = 60_000;
    const stream = pool.executeStream('timed_ticks', { name: 'slow-reader', count, pad: 1000 })[Symbol.asyncIterator]();
    expect((await stream.next()).value).toMatchObject({ i: 0 });
    // The consumer stops reading: production must stall at a bound far below the stream's length.
    let produced = 0;
    for (let check = 0; check < 10; check++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      produced = (await pool.execute('produced', { name: 'slow-reader' })) as number;
    }
    const stalledAt = produced;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await pool.execute('produced', { name: 'slow-reader' })) as number).toBe(stalledAt);
    expect(stalledAt).toBeLessThan(count / 2);
    let expected = 1;
    let finals = 0;
    for (let result = await stream.next(); !result.done; result = await stream.next()) {
      const chunk = result.value as { i?: number; is_final: boolean };
      if (chunk.is_final) {
        finals++;
        continue;
      }
      expect(chunk.i).toBe(expected++);
    }
    expect(expected).toBe(count);
    expect(finals).toBe(1);
  });

  it('a slow producer\'s chunks reach the caller right after their yield', async () => {
    const pool = processPool();
    await pool.ready();
    const lags: number[] = [];
    for await (const chunk of pool.executeStream('timed_ticks', { name: 'slow-producer', count: 6, interval_ms: 150 })) {
      if (typeof chunk.t === 'number') lags.push(Date.now() - chunk.t);
    }
    expect(lags).toHaveLength(6);
    // Generous for a shared machine; batching by timer would add a whole interval (150 ms).
    expect(Math.max(...lags)).toBeLessThan(100);
  });
});

async function waitUntilValue(read: () => Promise<unknown>, expected: unknown, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if ((await read()) === expected) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
