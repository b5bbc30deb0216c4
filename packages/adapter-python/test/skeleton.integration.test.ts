/** End to end against real Python workers: values, bytes, errors and streams. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Chunk, type Pool } from '@snakepit/sdk';
import { failureOf } from '@snakepit/sdk/testing';
import { showcaseAdapter } from './python-under-test.js';

let pool: Pool;

beforeAll(async () => {
  pool = createPool({ adapter: showcaseAdapter(), size: 1 });
  await pool.ready();
});

afterAll(async () => {
  await pool.close();
});

describe('unary calls', () => {
  it('round-trips nested JSON exactly: integers stay integers, null stays null', async () => {
    const value = {
      count: 3,
      large: 2 ** 40,
      negative: -17,
      ratio: 1.5,
      nothing: null,
      text: 'grüße 😀',
      list: [1, 'two', null, { deep: [true, false, 0] }],
      empty: { inner: {} },
    };
    const result = (await pool.execute('echo', { value })) as { value: typeof value };
    expect(result.value).toEqual(value);
    expect(Number.isInteger(result.value.count)).toBe(true);
    expect(result.value.nothing).toBeNull();
  });

  it('adds two numbers in Python', async () => {
    expect(await pool.execute('add', { a: 40, b: 2 })).toBe(42);
  });

  it('sends a 1 MiB Buffer as a binary parameter that arrives as identical bytes', async () => {
    const data = Buffer.alloc(1024 * 1024);
    for (let index = 0; index < data.length; index++) data[index] = (index * 31 + 7) % 256;
    const info = (await pool.execute('bytes_info', { data })) as { type: string; length: number; sha256: string };
    expect(info).toEqual({ type: 'bytes', length: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  });

  it('returns Python bytes as a Uint8Array', async () => {
    const data = new Uint8Array([0, 1, 2, 250, 255]);
    const result = await pool.execute('echo_bytes', { data });
    expect(result).toBeInstanceOf(Uint8Array);
    expect(Array.from(result as Uint8Array)).toEqual([0, 1, 2, 250, 255]);
  });

  it('carries results above 4 MiB', async () => {
    const size = 6 * 1024 * 1024;
    const bytes = (await pool.execute('make_bytes', { size })) as Uint8Array;
    expect(bytes.length).toBe(size);
    const text = (await pool.execute('big_text', { size })) as string;
    expect(text.length).toBe(size);
  });

  it('turns a Python exception into a python_error with type and traceback', async () => {
    const error = await failureOf(pool.execute('fail', { message: 'bad', kind: 'ValueError' }));
    expect(error.code).toBe('python_error');
    expect(error.message).toBe('bad');
    expect(error.pythonType).toBe('ValueError');
    expect(error.pythonTraceback).toContain('showcase.py');
    expect(await pool.execute('add', { a: 1, b: 1 })).toBe(2);
  });

  it('refuses a BigInt argument before sending, naming the key', async () => {
    const error = await failureOf(pool.execute('echo', { fine: 1, huge: 10n }));
    expect(error.code).toBe('invalid_parameter');
    expect(error.details.key).toBe('huge');
  });

  it('refuses a circular argument before sending, naming the key and path', async () => {
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    const error = await failureOf(pool.execute('echo', { config: { nested: loop } }));
    expect(error.code).toBe('invalid_parameter');
    expect(error.details.key).toBe('config');
    expect(error.message).toContain('circular');
    expect(await pool.execute('add', { a: 2, b: 3 })).toBe(5);
  });
});

describe('streams', () => {
  it('yields progress chunks in order with exactly one final chunk', async () => {
    const chunks: Chunk[] = [];
    for await (const chunk of pool.executeStream('stream_progress', { steps: 5, delay_ms: 5 })) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.step)).toEqual([1, 2, 3, 4, 5]);
    expect(chunks.filter((chunk) => chunk.is_final)).toHaveLength(1);
    expect(chunks.at(-1)).toMatchObject({ step: 5, total: 5, progress: 100, is_final: true, message: 'Processing step 5/5' });
  });

  it('shapes non-object chunks under data and closes with a bare final chunk', async () => {
    const chunks: Chunk[] = [];
    await pool.executeStream('stream_values', { values: [7, 'seven', { seven: 7 }, [7]] }, (chunk) => {
      chunks.push(chunk);
    });
    expect(chunks).toEqual([
      { data: 7, is_final: false },
      { data: 'seven', is_final: false },
      { seven: 7, is_final: false },
      { data: [7], is_final: false },
      { is_final: true },
    ]);
  });

  it("stops the Python producer when the callback returns 'halt'", async () => {
    let seen = 0;
    await pool.executeStream('stream_ticks', { name: 'halted', delay_ms: 10 }, () => {
      seen += 1;
      return seen === 3 ? 'halt' : undefined;
    });
    expect(seen).toBe(3);
    await expectProducerStopped('halted');
  });

  it('stops a sync Python generator when for-await breaks', async () => {
    let seen = 0;
    for await (const chunk of pool.executeStream('stream_ticks_sync', { name: 'broken', delay_ms: 10 })) {
      expect(chunk.is_final).toBe(false);
      seen += 1;
      if (seen === 3) break;
    }
    await expectProducerStopped('broken');
  });

  it('ends a failing stream with a python_error', async () => {
    const chunks: Chunk[] = [];
    const error = await failureOf(
      pool.executeStream('fail_stream', { after: 2 }, (chunk) => {
        chunks.push(chunk);
      }),
    );
    expect(chunks).toEqual([
      { i: 0, is_final: false },
      { i: 1, is_final: false },
    ]);
    expect(error.code).toBe('python_error');
    expect(error.pythonType).toBe('RuntimeError');
  });
});

async function expectProducerStopped(name: string): Promise<void> {
  let state = { produced: 0, closed: false };
  for (let attempt = 0; attempt < 100 && !state.closed; attempt++) {
    state = (await pool.execute('stream_state', { name })) as typeof state;
    if (!state.closed) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(state.closed).toBe(true);
  const produced = state.produced;
  await new Promise((resolve) => setTimeout(resolve, 100));
  const later = (await pool.execute('stream_state', { name })) as typeof state;
  expect(later.produced).toBe(produced);
  // A bounded queue may run a little ahead of the consumer, never far.
  expect(produced).toBeLessThan(40);
}
