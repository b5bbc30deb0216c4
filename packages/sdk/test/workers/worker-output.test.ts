/**
 * What happens to the lines a worker prints: by default they appear on this process's stderr,
 * prefixed with the worker id and scrubbed; `workerOutput: 'logger'` logs them, `'ignore'` drops
 * them; records of Python's `logging` always go to the logger. A long line arrives whole, in pieces.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WorkerLogRecord } from '../../src/adapter/v1/adapter.js';
import { createMemoryLogger } from '../../src/testing/index.js';
import { parseWorkerLogLine } from '../../src/workers/worker-log-line.js';
import { WorkerProcess } from '../../src/workers/worker-process.js';
import { testPool } from '../pool/pool-test-support.js';

const secret = 'hunter2-secret';

/** What the pool writes to process.stderr while `work` runs. */
async function stderrDuring(work: () => Promise<void>): Promise<string> {
  const written: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('[snakepit ')) {
      written.push(text);
      return true;
    }
    return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write);
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return written.join('');
}

const structured = JSON.stringify({ snakepit: 'log', level: 'warning', logger: 'app', message: 'from logging' });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('worker output', () => {
  it('by default goes to stderr, prefixed with the worker id and scrubbed, even without a logger', async () => {
    const { pool, adapter } = testPool();
    await pool.ready();
    const printed = await stderrDuring(async () => {
      const onLog = adapter.startContexts()[0]!.onLog;
      onLog(parseWorkerLogLine('w1', 'stdout', 'debug print: x = 42'));
      onLog(parseWorkerLogLine('w1', 'stderr', `connecting with password=${secret}`));
    });
    expect(printed).toBe('[snakepit w1] debug print: x = 42\n[snakepit w1] connecting with password=[REDACTED]\n');
  });

  it("by default a logger still gets Python's logging records, but not the printed lines", async () => {
    const logger = createMemoryLogger();
    const { pool, adapter } = testPool({ logger });
    await pool.ready();
    const printed = await stderrDuring(async () => {
      const onLog = adapter.startContexts()[0]!.onLog;
      onLog(parseWorkerLogLine('w1', 'stdout', 'printed'));
      onLog(parseWorkerLogLine('w1', 'stderr', structured));
    });
    expect(printed).toBe('[snakepit w1] printed\n');
    const workerLines = logger.records.filter((record) => record.fields.source !== undefined);
    expect(workerLines.map((record) => [record.fields.source, record.level, record.message])).toEqual([['logging', 'warn', 'from logging']]);
  });

  it("'logger' sends the printed lines to the logger instead, 'ignore' drops them", async () => {
    for (const workerOutput of ['logger', 'ignore'] as const) {
      const logger = createMemoryLogger();
      const { pool, adapter } = testPool({ logger, workerOutput });
      await pool.ready();
      const printed = await stderrDuring(async () => {
        const onLog = adapter.startContexts()[0]!.onLog;
        onLog(parseWorkerLogLine('w1', 'stdout', 'printed'));
        onLog(parseWorkerLogLine('w1', 'stderr', structured));
      });
      expect(printed).toBe('');
      const sources = logger.records.filter((record) => record.fields.source !== undefined).map((record) => record.fields.source);
      expect(sources).toEqual(workerOutput === 'logger' ? ['stdout', 'logging'] : ['logging']);
    }
  });

  it("'ignore' with no logger routes nothing at all", async () => {
    const { pool, adapter } = testPool({ workerOutput: 'ignore' });
    await pool.ready();
    const printed = await stderrDuring(async () => {
      adapter.startContexts()[0]!.onLog(parseWorkerLogLine('w1', 'stdout', 'printed'));
    });
    expect(printed).toBe('');
  });
});

describe('a 1 MB line printed by a real Python process', () => {
  it('reaches the log as 64 KiB pieces holding every byte, numbered by linePart', async () => {
    const script = [
      'import os, sys',
      'sys.stdin.readline()',
      "line = ''.join(chr(97 + i % 26) for i in range(1024 * 1024))",
      'sys.stdout.write(line + "\\nafter\\n")',
      'sys.stdout.flush()',
      'os.write(3, b\'{"event": "ready", "port": 1}\\n\')',
      'sys.stdin.read()',
    ].join('\n');
    const records: WorkerLogRecord[] = [];
    const { process: worker } = await WorkerProcess.start({
      workerId: 'w1',
      spec: { command: 'python3', args: ['-c', script] },
      config: {},
      startupTimeoutMs: 20_000,
      signal: new AbortController().signal,
      onLog: (record) => records.push(record),
    });
    try {
      const expected = Array.from({ length: 1024 * 1024 }, (_, index) => String.fromCharCode(97 + (index % 26))).join('');
      await vi.waitFor(() => expect(records.at(-1)?.message).toBe('after'), { timeout: 10_000 });
      const pieces = records.slice(0, -1);
      expect(pieces).toHaveLength(16);
      expect(pieces.map((record) => record.fields?.linePart)).toEqual(Array.from({ length: 16 }, (_, index) => index + 1));
      expect(pieces.every((record) => record.source === 'stdout')).toBe(true);
      expect(pieces.map((record) => record.message).join('')).toBe(expected);
    } finally {
      await worker.stop(1_000);
    }
  });
});
