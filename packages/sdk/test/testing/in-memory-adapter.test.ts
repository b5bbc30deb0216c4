import { describe, expect, it } from 'vitest';
import type { CallContext, WorkerStartContext } from '../../src/adapter/v1/adapter.js';
import { SnakepitError } from '../../src/errors.js';
import { encodeArguments } from '../../src/wire/arguments.js';
import type { Chunk } from '../../src/wire/chunk.js';
import { createInMemoryAdapter } from '../../src/testing/index.js';

function startContext(workerId = 'w1'): WorkerStartContext {
  return {
    workerId,
    token: 'secret',
    heartbeat: { intervalMs: 1_000, timeoutMs: 1_000, maxMissed: 3 },
    signal: new AbortController().signal,
    startupTimeoutMs: 1_000,
    onLog: () => {},
  };
}

function call(tool: string, args: Record<string, unknown> = {}) {
  return { tool, args: encodeArguments(args), correlationId: 'c1' };
}

function context(controller = new AbortController()): CallContext {
  return { signal: controller.signal, deadline: Date.now() + 10_000 };
}

describe('in-memory adapter', () => {
  it('runs tools with decoded arguments and JSON results, and counts calls', async () => {
    const adapter = createInMemoryAdapter({ tools: { add: (args) => Number(args.a) + Number(args.b), date: () => new Date(0) } });
    const worker = await adapter.doStartWorker(startContext());
    expect(worker.capacity).toBe(1);
    await expect(worker.doExecute(call('add', { a: 2, b: 3 }), context())).resolves.toBe(5);
    await expect(worker.doExecute(call('date'), context())).resolves.toBe('1970-01-01T00:00:00.000Z');
    await expect(worker.doExecute(call('missing'), context())).rejects.toMatchObject({ code: 'unknown_tool' });
    expect(adapter.callCount('add')).toBe(1);
    expect(adapter.callCount()).toBe(2);
  });

  it('turns values into chunks with exactly one final chunk', async () => {
    const adapter = createInMemoryAdapter({
      tools: { numbers: () => [1, 2], gen: function* () { yield 1; yield 'two'; }, single: () => ({ only: true }) },
    });
    const worker = await adapter.doStartWorker(startContext());
    const collect = async (tool: string) => {
      const chunks: Chunk[] = [];
      for await (const chunk of worker.doStream(call(tool), context())) chunks.push(chunk);
      return chunks;
    };
    expect(await collect('gen')).toEqual([{ data: 1, is_final: false }, { data: 'two', is_final: false }, { is_final: true }]);
    expect(await collect('numbers')).toEqual([{ data: [1, 2], is_final: false }, { is_final: true }]);
    expect(await collect('single')).toEqual([{ only: true, is_final: false }, { is_final: true }]);
  });

  it('rejects with the abort reason and aborts the tool signal', async () => {
    let toolSignal: AbortSignal | undefined;
    const adapter = createInMemoryAdapter({
      tools: { forever: (_args, toolContext) => ((toolSignal = toolContext.signal), new Promise(() => {})) },
    });
    const worker = await adapter.doStartWorker(startContext());
    const controller = new AbortController();
    const running = worker.doExecute(call('forever'), context(controller));
    const reason = new SnakepitError('timeout', 'late');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(toolSignal!.aborted).toBe(true);
  });

  it('crash() resolves exited and rejects calls with worker_exit; hang() makes pings fail', async () => {
    const adapter = createInMemoryAdapter({ tools: { forever: () => new Promise(() => {}) } });
    const first = await adapter.doStartWorker(startContext('w1'));
    const second = await adapter.doStartWorker(startContext('w2'));
    const running = first.doExecute(call('forever'), context());
    adapter.crash('w1', { code: 3 });
    await expect(running).rejects.toMatchObject({ code: 'worker_exit', details: { exitCode: 3 } });
    await expect(first.exited).resolves.toEqual({ code: 3, signal: null });
    expect(adapter.workers().map((worker) => worker.id)).toEqual(['w2']);
    await expect(second.doPing(10)).resolves.toBeUndefined();
    adapter.hang('w2');
    await expect(second.doPing(10)).rejects.toMatchObject({ code: 'transport_error' });
    await second.doStop({ graceMs: 0 });
    await expect(second.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    expect(adapter.startAttempts()).toBe(2);
  });

  it('fails the start attempts failStart picks', async () => {
    const adapter = createInMemoryAdapter({ tools: {}, failStart: (_id, attempt) => (attempt === 1 ? new Error('import failed') : undefined) });
    await expect(adapter.doStartWorker(startContext('w1'))).rejects.toThrow('import failed');
    await expect(adapter.doStartWorker(startContext('w2'))).resolves.toMatchObject({ id: 'w2' });
  });
});
