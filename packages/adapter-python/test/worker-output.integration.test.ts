/**
 * Python's print() with a real worker: by default on this process's stderr, prefixed with the
 * worker id and scrubbed; with `workerOutput: 'logger'` in the logger, a 1 MB line whole.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPool, type Pool, type PoolOptions } from '@snakepit/sdk';
import { createMemoryLogger } from '@snakepit/sdk/testing';
import { showcaseAdapter, waitUntil } from './python-under-test.js';

const pools: Pool[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(pools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 2_000 })));
});

function pool(options: Omit<PoolOptions, 'adapter'> = {}): Pool {
  const created = createPool({ adapter: showcaseAdapter(), size: 1, ...options });
  pools.push(created);
  return created;
}

/** Collects what is written to process.stderr with the worker prefix (and lets the rest through). */
function captureWorkerStderr(): string[] {
  const written: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('[snakepit ')) {
      written.push(text);
      return true;
    }
    return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write);
  return written;
}

describe('print() in a tool', () => {
  it('appears on stderr by default, prefixed with the worker id and scrubbed', async () => {
    const written = captureWorkerStderr();
    const subject = pool();
    await subject.ready();
    await subject.execute('print_message', { message: 'debugging: x = 42' });
    await subject.execute('print_message', { message: 'oops password=hunter2-secret', stream: 'stderr' });
    expect(await waitUntil(() => written.length >= 2, 10_000)).toBe(true);
    expect(written).toEqual(['[snakepit w1] debugging: x = 42\n', '[snakepit w1] oops password=[REDACTED]\n']);
  });

  it("goes to the logger with workerOutput 'logger': a 1 MB line in 16 records holding every character", async () => {
    const written = captureWorkerStderr();
    const logger = createMemoryLogger();
    const subject = pool({ logger, workerOutput: 'logger' });
    await subject.ready();
    const message = Array.from({ length: 1024 * 1024 }, (_, index) => String.fromCharCode(97 + (index % 26))).join('');
    await subject.execute('print_message', { message });
    await subject.execute('print_message', { message: 'after' });
    const printed = () => logger.records.filter((record) => record.fields.source === 'stdout');
    expect(await waitUntil(() => printed().at(-1)?.message === 'after', 10_000)).toBe(true);
    const pieces = printed().slice(0, -1);
    expect(pieces).toHaveLength(16);
    expect(pieces.map((record) => record.fields.linePart)).toEqual(Array.from({ length: 16 }, (_, index) => index + 1));
    expect(pieces.map((record) => record.message).join('')).toBe(message);
    expect(written).toEqual([]);
  });

  it("is dropped with workerOutput 'ignore'", async () => {
    const written = captureWorkerStderr();
    const logger = createMemoryLogger();
    const subject = pool({ logger, workerOutput: 'ignore' });
    await subject.ready();
    await subject.execute('print_message', { message: 'nobody sees this' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(written).toEqual([]);
    expect(logger.records.filter((record) => record.fields.source === 'stdout')).toEqual([]);
  });
});
