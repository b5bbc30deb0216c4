/**
 * Issue 5 against real Python workers: secrets never reach logs, errors or events while the worker's
 * output is still captured; Python exceptions arrive as structured errors; values JSON cannot hold
 * still come back; one correlation id ties a call's sdk log line, Python log line and events
 * together; and OpenTelemetry spans reach Python as `traceparent`.
 */
import { spawnSync } from 'node:child_process';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool, type PoolEventName, type PoolOptions } from '@snakepit/sdk';
import { createMemoryLogger, failureOf, poolEventNames, type MemoryLogger } from '@snakepit/sdk/testing';
import { showcaseAdapter, testPython, waitUntil } from './python-under-test.js';

const password = 'hunter2-secret';
const token = 'tok_abcdefgh12345';

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 5_000 })));
});

interface Observed {
  pool: Pool;
  logger: MemoryLogger;
  events: Array<{ name: PoolEventName; payload: unknown }>;
}

async function observedPool(options: Omit<PoolOptions, 'adapter' | 'logger'> = {}): Promise<Observed> {
  const logger = createMemoryLogger({ level: 'debug' });
  // Worker output goes to the logger too, so every line can be checked for secrets.
  const pool = createPool({ adapter: showcaseAdapter({ logLevel: 'debug' }), size: 1, logger, workerOutput: 'logger', ...options });
  pools.push(pool);
  const events: Observed['events'] = [];
  for (const name of poolEventNames) pool.on(name, (payload) => void events.push({ name, payload }));
  await pool.ready();
  return { pool, logger, events };
}

/** JSON of anything, errors included with their message, stack and every own property. */
function serialise(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item instanceof Error ? { ...item, name: item.name, message: item.message, stack: item.stack, cause: item.cause } : item,
  );
}

describe('secrets', () => {
  it('never reach a log line, the error or an event, while the stderr line is still captured', async () => {
    const { pool, logger, events } = await observedPool();
    const error = await failureOf(pool.execute('print_and_fail', { password, token }));
    expect(error).toMatchObject({ code: 'python_error', pythonType: 'ValueError', message: 'print_and_fail: refused' });
    // The worker's stderr is read asynchronously, so the line may land after the call failed.
    const printed = () =>
      logger.records.find((record) => record.fields.source === 'stderr' && record.message.includes("'password'"));
    expect(await waitUntil(() => printed() !== undefined, 10_000)).toBe(true);
    // Keyword order is not kept on the way (the wire carries a map), so each pair is checked alone.
    expect(printed()!.message).toContain("'password': '[REDACTED]'");
    expect(printed()!.message).toContain("'token': '[REDACTED]'");
    expect(printed()!.fields.workerId).toBe('w1');
    await pool.close();

    const everything = serialise({ lines: logger.lines(), events, error, traceback: error.pythonTraceback });
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(token);
    // What was observed is real: the call's events and log lines are all there.
    expect(events.map((event) => event.name)).toEqual(expect.arrayContaining(['call:start', 'call:error', 'worker:exit']));
    expect(logger.records.map((record) => record.message)).toEqual(expect.arrayContaining(['call started', 'call failed']));
  });
});

describe('structured Python errors', () => {
  it("ValueError('bad') arrives with its type, message, kind and a traceback naming the tool's file", async () => {
    const { pool } = await observedPool();
    const error = await failureOf(pool.execute('fail', { message: 'bad', kind: 'ValueError' }));
    expect(error).toMatchObject({ code: 'python_error', pythonType: 'ValueError', message: 'bad' });
    expect(error.details.kind).toBe('invalid_input');
    expect(error.pythonTraceback).toMatch(/showcase\.py", line \d+, in fail/);
    expect(error.pythonTraceback).toContain('ValueError: bad');
  });

  it('maps MemoryError to out_of_memory', async () => {
    const { pool } = await observedPool();
    const error = await failureOf(pool.execute('fail', { message: 'cannot allocate', kind: 'MemoryError' }));
    expect(error).toMatchObject({ pythonType: 'MemoryError', details: { kind: 'out_of_memory' } });
  });
});

describe('values JSON cannot hold', () => {
  it('come back converted or as a marker naming the type, and the call succeeds', async () => {
    const { pool } = await observedPool();
    const result = (await pool.execute('unserializable', {})) as Record<string, unknown>;
    expect(result.when).toBe('2024-01-02T03:04:05');
    expect(result.custom).toEqual({ __snakepit_unserializable__: true, type: 'snakepit_bridge.adapters.showcase.Opaque' });
    expect(result.point).toEqual({ x: 1, y: 2 });
    expect(result.nan).toBeNull();
    // The marker names the type only: the object's repr would have carried its secret.
    expect(JSON.stringify(result)).not.toContain('opaque-secret-value');
  });

  it('a NumPy array comes back as nested lists, or the call fails cleanly when NumPy is missing', async () => {
    const { pool } = await observedPool();
    const hasNumpy = spawnSync(testPython, ['-c', 'import numpy']).status === 0;
    if (hasNumpy) {
      expect(await pool.execute('numpy_array', {})).toEqual([
        [0, 1, 2],
        [3, 4, 5],
      ]);
    } else {
      const error = await failureOf(pool.execute('numpy_array', {}));
      expect(error).toMatchObject({ code: 'python_error', pythonType: 'ModuleNotFoundError' });
      // The worker survives the failure and serves the next call.
      expect(await pool.execute('echo', { ok: true })).toEqual({ ok: true });
    }
  });
});

describe('correlation ids', () => {
  it("one call's id is in the sdk's log line, the Python log line and the call's events", async () => {
    const { pool, logger, events } = await observedPool();
    const correlationId = 'corr-123-xyz';
    await pool.execute('log_message', { message: 'hello from python', level: 'info' }, { correlationId });

    const sdkLine = logger.records.find((record) => record.message === 'call started');
    expect(sdkLine?.fields).toMatchObject({ correlationId, tool: 'log_message', workerId: 'w1' });
    const pythonLine = () => logger.records.find((record) => record.message === 'hello from python');
    expect(await waitUntil(() => pythonLine() !== undefined, 10_000)).toBe(true);
    expect(pythonLine()).toMatchObject({
      level: 'info',
      fields: { correlationId, source: 'logging', workerId: 'w1', logger: 'showcase' },
    });
    const callEvents = events.filter((event) => event.name.startsWith('call:'));
    expect(callEvents.map((event) => [event.name, (event.payload as { correlationId: string }).correlationId])).toEqual([
      ['call:start', correlationId],
      ['call:end', correlationId],
    ]);
  });

  it('reaches the tool as its context.correlation_id', async () => {
    const { pool } = await observedPool();
    const info = (await pool.execute('session_info', {}, { correlationId: 'corr-tool' })) as { correlation_id: string };
    expect(info.correlation_id).toBe('corr-tool');
  });
});

describe('OpenTelemetry', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  beforeAll(() => {
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });
  afterEach(() => exporter.reset());

  it('a call makes a span named for the tool, and Python receives its trace context', async () => {
    const { pool, logger } = await observedPool();
    const received = (await trace.getTracer('test').startActiveSpan('request', async (parent) => {
      try {
        return await pool.execute('trace_info', {});
      } finally {
        parent.end();
      }
    })) as { traceparent: string | null };
    const spans = exporter.getFinishedSpans();
    const call = spans.find((span) => span.name === 'snakepit.execute trace_info')!;
    const parent = spans.find((span) => span.name === 'request')!;
    expect(call.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(call.attributes).toMatchObject({ 'snakepit.tool.name': 'trace_info', 'snakepit.worker.id': 'w1' });
    const { traceId, spanId } = call.spanContext();
    expect(received.traceparent).toBe(`00-${traceId}-${spanId}-01`);

    // Python's log lines carry the trace id too.
    await pool.execute('log_message', { message: 'traced line' });
    const traced = exporter.getFinishedSpans().find((span) => span.name === 'snakepit.execute log_message')!;
    const line = () => logger.records.find((record) => record.message === 'traced line');
    expect(await waitUntil(() => line() !== undefined, 10_000)).toBe(true);
    expect(line()!.fields.traceId).toBe(traced.spanContext().traceId);
  });

  it('with openTelemetry: false there is no span and no traceparent', async () => {
    const { pool } = await observedPool({ openTelemetry: false });
    const received = (await pool.execute('trace_info', {})) as { traceparent: string | null; tracestate: string | null };
    expect(received).toEqual({ traceparent: null, tracestate: null });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
