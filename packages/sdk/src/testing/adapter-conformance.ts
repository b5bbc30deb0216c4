/**
 * One conformance suite for every adapter: unary values, bytes, errors, streams, cancellation,
 * crash recovery and parent death, run through a real pool. The suite takes the test framework's
 * functions as arguments, so the sdk does not depend on any test runner.
 *
 * The adapter under test must offer the conformance tools (the Python showcase adapters do):
 * `echo(**kwargs)`, `echo_bytes(data)`, `fail(message, kind)`, `stream_values(values)`,
 * `stream_ticks(name, delay_ms)`, `stream_state(name) -> {produced, closed}`, `sleep(ms)` (async,
 * cancellable), `cancelled_count(name)`, `crash(code, delay_ms)`, `pid()`.
 */
import { spawn } from 'node:child_process';
import { createPool, type Pool } from '../pool/pool.js';
import type { Adapter } from '../pool/options.js';
import type { WorkerInfo } from '../workers/worker-slot.js';
import type { Chunk } from '../wire/chunk.js';
import { failureOf } from './failure-of.js';
import { isProcessAlive } from './process-alive.js';

/** The few matchers the suite uses; vitest's and jest's `expect` satisfy it. */
export interface ConformanceExpect {
  (actual: unknown): {
    toBe(expected: unknown): void;
    toEqual(expected: unknown): void;
    toBeLessThan(expected: number): void;
    toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): void;
    not: { toBe(expected: unknown): void };
  };
}

export interface ConformanceTestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>, timeoutMs?: number): void;
  beforeAll(body: () => Promise<void>, timeoutMs?: number): void;
  afterAll(body: () => Promise<void>, timeoutMs?: number): void;
  expect: ConformanceExpect;
}

export interface AdapterConformanceOptions {
  /** Names the suite, e.g. "python (process mode)". */
  name: string;
  /** A v1 adapter (the pool keeps one worker), or a v2 adapter that reports exactly one seat. */
  createAdapter(): Adapter;
  /**
   * Whether each worker is an OS process that reports its pid. Default true: the crash test then
   * also checks that the replacement is a new process. False for an adapter whose workers live in
   * the test's own process (the in-memory adapter), whose workers have no pid: the replacement is
   * recognised by its worker id alone.
   */
  workerProcesses?: boolean;
  /**
   * For the parent-death test: an ES module exporting `createAdapter()`, loaded by a child Node
   * process (resolving `@snakepit/sdk` from the working folder) that is then SIGKILLed. The test
   * is left out when omitted (it needs `workerProcesses`).
   */
  adapterModule?: string;
  /** Export name in `adapterModule`. Default "createAdapter". */
  adapterExport?: string;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await pause(25);
  }
  return predicate();
}

export function defineAdapterConformanceSuite(options: AdapterConformanceOptions, test: ConformanceTestApi): void {
  const { describe, it, beforeAll, afterAll, expect } = test;
  const workerProcesses = options.workerProcesses ?? true;
  if (options.adapterModule !== undefined && !workerProcesses) {
    throw new TypeError('defineAdapterConformanceSuite: adapterModule (the parent-death test) needs workerProcesses');
  }

  describe(`adapter conformance: ${options.name}`, () => {
    let pool: Pool;

    beforeAll(async () => {
      // One worker, so a follow-up call lands where the previous one ran.
      const adapter = options.createAdapter();
      pool = createPool({ adapter, ...(adapter.specificationVersion === 'v1' ? { size: 1 } : {}) });
      await pool.ready();
    }, 60_000);

    afterAll(async () => {
      await pool.close();
    }, 60_000);

    it('round-trips JSON values exactly', async () => {
      const value = { int: 7, float: 0.5, none: null, text: 'ok ✓', list: [1, [2, { three: 3 }]] };
      expect(await pool.execute('echo', { value })).toEqual({ value });
    });

    it('round-trips bytes', async () => {
      const data = new Uint8Array([0, 127, 128, 255]);
      const result = await pool.execute('echo_bytes', { data });
      expect(result).toBeInstanceOf(Uint8Array);
      expect(Array.from(result as Uint8Array)).toEqual([0, 127, 128, 255]);
    });

    it('reports a raised error as python_error with type and traceback', async () => {
      const error = await failureOf(pool.execute('fail', { message: 'conformance', kind: 'RuntimeError' }));
      expect(error.code).toBe('python_error');
      expect(error.pythonType).toBe('RuntimeError');
      expect(error.message).toBe('conformance');
      expect(typeof error.pythonTraceback).toBe('string');
    });

    it('reports an unknown tool as unknown_tool', async () => {
      const error = await failureOf(pool.execute('no_such_tool_anywhere', {}));
      expect(error.code).toBe('unknown_tool');
    });

    it('streams chunks in order with exactly one final chunk', async () => {
      const chunks: Chunk[] = [];
      for await (const chunk of pool.executeStream('stream_values', { values: [1, { two: 2 }, 'three'] })) chunks.push(chunk);
      expect(chunks).toEqual([
        { data: 1, is_final: false },
        { two: 2, is_final: false },
        { data: 'three', is_final: false },
        { is_final: true },
      ]);
    });

    it('stops the producer when the consumer stops reading', async () => {
      let seen = 0;
      for await (const _chunk of pool.executeStream('stream_ticks', { name: 'conformance', delay_ms: 10 })) {
        if (++seen === 2) break;
      }
      const closed = await until(
        async () => ((await pool.execute('stream_state', { name: 'conformance' })) as { closed: boolean }).closed,
        5000,
      );
      expect(closed).toBe(true);
    });

    it('cancels a running call at its deadline and keeps serving', async () => {
      const before = (await pool.execute('cancelled_count', { name: 'sleep' })) as number;
      const startedAt = Date.now();
      const error = await failureOf(pool.execute('sleep', { ms: 5000 }, { timeoutMs: 300 }));
      expect(error.code).toBe('timeout');
      expect(Date.now() - startedAt).toBeLessThan(1500);
      const cancelled = await until(
        async () => ((await pool.execute('cancelled_count', { name: 'sleep' })) as number) > before,
        5000,
      );
      expect(cancelled).toBe(true);
      expect(await pool.execute('echo', { after: 'timeout' })).toEqual({ after: 'timeout' });
    });

    it('aborts a running call through an AbortSignal', async () => {
      const controller = new AbortController();
      const pending = pool.execute('sleep', { ms: 5000 }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      const error = await failureOf(pending);
      expect(error.code).toBe('aborted');
      expect(await pool.execute('echo', { after: 'abort' })).toEqual({ after: 'abort' });
    });

    it('fails a call whose worker dies with worker_exit and replaces the worker', async () => {
      const before = pool.listWorkers();
      if (workerProcesses) for (const worker of before) expect(typeof worker.pid).toBe('number');
      const error = await failureOf(pool.execute('crash', { code: 1, delay_ms: 50 }));
      expect(error.code).toBe('worker_exit');
      const isReplacement = (worker: WorkerInfo) =>
        before.every((old) => old.id !== worker.id && (!workerProcesses || old.pid !== worker.pid));
      const replaced = await until(() => {
        const workers = pool.listWorkers().filter((worker) => worker.state === 'ready');
        return workers.length === 1 && workers.every(isReplacement);
      }, 20_000);
      expect(replaced).toBe(true);
      expect(await pool.execute('echo', { after: 'crash' })).toEqual({ after: 'crash' });
    }, 30_000);

    if (options.adapterModule !== undefined) {
      const adapterModule = options.adapterModule;
      const exportName = options.adapterExport ?? 'createAdapter';
      it('leaves no worker behind when the Node parent is SIGKILLed', async () => {
        const script = [
          "const { createPool } = await import('@snakepit/sdk');",
          `const adapterModule = await import(${JSON.stringify(adapterModule)});`,
          `const pool = createPool({ adapter: adapterModule[${JSON.stringify(exportName)}](), size: 2 });`,
          'await pool.ready();',
          "while (pool.listWorkers().filter((w) => w.state === 'ready').length < 2) await new Promise((r) => setTimeout(r, 20));",
          'process.stdout.write(JSON.stringify(pool.listWorkers().map((w) => w.pid)) + "\\n");',
          'setInterval(() => {}, 1000);',
        ].join('\n');
        const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        const pids = await new Promise<number[]>((resolve, reject) => {
          let output = '';
          owner.stdout.setEncoding('utf8');
          owner.stdout.on('data', (text: string) => {
            output += text;
            if (output.includes('\n')) resolve(JSON.parse(output.slice(0, output.indexOf('\n'))));
          });
          owner.once('exit', (code) => reject(new Error(`pool owner exited early with ${code}`)));
        });
        expect(pids.length).toBe(2);
        owner.kill('SIGKILL');
        expect(await until(() => !pids.some(isProcessAlive), 2000)).toBe(true);
      }, 60_000);
    }
  });
}
