/**
 * OpenTelemetry: a CLIENT span per call under the caller's active span, its trace context handed to
 * the adapter for the worker, `openTelemetry: false` turning all of it off, and a no-op when the
 * API package is missing. The OpenTelemetry SDK here is the in-memory one tests use.
 */
import { context, propagation, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AdapterV1, AdapterWorkerV1, CallRequest } from '../../src/adapter/v1/adapter.js';
import { silentLogger } from '../../src/observability/logging.js';
import { CallRecorder, type RecordedCall } from '../../src/observability/call-recorder.js';
import { PoolEventEmitter } from '../../src/observability/events.js';
import { PoolMetrics } from '../../src/observability/metrics.js';
import { createPool, type Pool } from '../../src/pool/pool.js';
import type { PoolOptions } from '../../src/pool/options.js';
import { failureOf, temporaryDataDir, Toolbox } from '../pool/pool-test-support.js';
import { createInMemoryAdapter } from '../../src/testing/index.js';
import { createCallTracer, formatTraceparent, loadOpenTelemetryApi } from '../../src/observability/tracing.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

const pools: Pool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 2_000 })));
  exporter.reset();
});

/** A pool whose adapter records every request it is given, as the worker would receive it. */
function recordingPool(options: Omit<PoolOptions, 'adapter'> = {}): { pool: Pool; requests: CallRequest[] } {
  const requests: CallRequest[] = [];
  const inner = createInMemoryAdapter({ tools: new Toolbox().tools });
  const record = (worker: AdapterWorkerV1): AdapterWorkerV1 =>
    new Proxy(worker, {
      get(target, property) {
        if (property === 'doExecute' || property === 'doStream') {
          return (request: CallRequest, callContext: never) => {
            requests.push(request);
            return target[property](request, callContext);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const adapter: AdapterV1 = {
    specificationVersion: 'v1',
    name: 'recording',
    doStartWorker: async (startContext) => record(await inner.doStartWorker(startContext)),
  };
  const pool = createPool({ size: 1, dataDir: temporaryDataDir(), hostBridge: false, ...options, adapter });
  pools.push(pool);
  return { pool, requests };
}

describe('spans', () => {
  it('gives each call a CLIENT span under the active span and sends its traceparent', async () => {
    const { pool, requests } = recordingPool();
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('request', async (parent) => {
      await pool.execute('echo', { a: 1 }, { correlationId: 'corr-otel', sessionId: 'session-1' });
      parent.end();
    });
    const spans = exporter.getFinishedSpans();
    const call = spans.find((span) => span.name === 'snakepit.execute echo')!;
    const parent = spans.find((span) => span.name === 'request')!;
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(call.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(call.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(call.attributes).toMatchObject({
      'snakepit.tool.name': 'echo',
      'snakepit.session.id': 'session-1',
      'snakepit.correlation.id': 'corr-otel',
      'snakepit.worker.id': 'w1',
      'snakepit.call.outcome': 'ok',
    });
    const { traceId, spanId } = call.spanContext();
    expect(requests[0]!.traceContext?.traceparent).toBe(`00-${traceId}-${spanId}-01`);
  });

  it('marks a failed call as an error with its code', async () => {
    const { pool } = recordingPool();
    await failureOf(pool.execute('fail', { message: 'bad' }));
    const [span] = exporter.getFinishedSpans();
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    expect(span!.attributes).toMatchObject({ 'snakepit.call.outcome': 'error', 'error.type': 'python_error' });
    expect(span!.events.map((event) => event.name)).toEqual(['exception']);
  });

  it('names stream spans for the tool and records a consumer stopping early', async () => {
    const { pool, requests } = recordingPool();
    for await (const chunk of pool.executeStream('ticks', { limit: 5 })) {
      if (chunk.tick === 1) break;
    }
    const [span] = exporter.getFinishedSpans();
    expect(span!.name).toBe('snakepit.stream ticks');
    expect(span!.attributes['snakepit.call.outcome']).toBe('halted');
    expect(requests[0]!.traceContext?.traceparent).toContain(span!.spanContext().traceId);
  });

  it('builds the traceparent itself when no propagator is registered', async () => {
    propagation.disable();
    try {
      const { pool, requests } = recordingPool();
      await pool.execute('echo', {});
      const [span] = exporter.getFinishedSpans();
      expect(requests[0]!.traceContext).toEqual({ traceparent: formatTraceparent(span!.spanContext()) });
    } finally {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  });

  it('keeps calls working when a span processor throws', async () => {
    const broken = {
      onStart: () => {
        throw new Error('processor bug');
      },
      onEnd: () => {
        throw new Error('processor bug');
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    trace.disable();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [broken] }));
    try {
      const { pool } = recordingPool();
      await expect(pool.execute('echo', { a: 1 })).resolves.toEqual({ a: 1 });
      expect((await failureOf(pool.execute('fail', {}))).code).toBe('python_error');
    } finally {
      trace.disable();
      trace.setGlobalTracerProvider(provider);
    }
  });

  it('with openTelemetry: false, makes no span and sends no trace context', async () => {
    const { pool, requests } = recordingPool({ openTelemetry: false });
    await trace.getTracer('test').startActiveSpan('request', async (parent) => {
      await pool.execute('echo', {});
      parent.end();
    });
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['request']);
    expect(requests[0]!.traceContext).toBeUndefined();
  });
});

describe('without OpenTelemetry', () => {
  it('finds no API when the package is missing or is not the API', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
    };
    expect(loadOpenTelemetryApi(missing)).toBeUndefined();
    expect(loadOpenTelemetryApi(() => ({ trace: {} }))).toBeUndefined();
    expect(createCallTracer(undefined)).toBeUndefined();
  });

  it('leaves a call untouched when neither tracing nor debug logging is on', () => {
    const recorder = new CallRecorder(new PoolEventEmitter(silentLogger), new PoolMetrics(), silentLogger, createCallTracer(undefined));
    const untouched = () => ({
      id: 1,
      request: { tool: 'echo', correlationId: 'corr' },
      createdAt: 0,
      dispatchedAt: 0,
      enqueuedAt: 0,
      argsDescription: undefined,
      traceParent: undefined,
      span: undefined,
    });
    const call: RecordedCall = untouched();
    recorder.created(call, { secret: 'x' });
    recorder.submitted(call, 'execute');
    recorder.started(call, 'w1');
    recorder.succeeded(call, 'w1', false, true, { result: 1 });
    expect(call).toEqual(untouched());
  });

  it('sends no trace context when no tracer provider is registered and no trace is active', async () => {
    trace.disable();
    try {
      const { pool, requests } = recordingPool();
      await pool.execute('echo', {});
      expect(requests[0]!.traceContext).toBeUndefined();
    } finally {
      trace.setGlobalTracerProvider(provider);
    }
  });
});

describe('formatTraceparent', () => {
  it('writes version 00 with two hex digits of flags', () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const spanId = 'b7ad6b7169203331';
    expect(formatTraceparent({ traceId, spanId, traceFlags: 1 })).toBe(`00-${traceId}-${spanId}-01`);
    expect(formatTraceparent({ traceId, spanId, traceFlags: 0 })).toBe(`00-${traceId}-${spanId}-00`);
  });
});
