/**
 * Optional OpenTelemetry tracing. `@opentelemetry/api` is an optional peer dependency: when the
 * application has it installed, each pool call gets a CLIENT span (`snakepit.execute <tool>` or
 * `snakepit.stream <tool>`) under the context that was active when the call was made, and the span's
 * W3C trace context travels to the worker as `traceparent` / `tracestate` gRPC metadata, so spans the
 * Python side opens join the same trace. Without the package this module returns no tracer, and the
 * pool pays one `undefined` check per call.
 *
 * The API is reached through `require`, once, and typed structurally here, so neither the sdk's
 * build nor its users' type checks need the package.
 */
import { createRequire } from 'node:module';
import type { SnakepitError } from '../errors.js';

type Attributes = Record<string, string | number | boolean>;

interface SpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState?: { serialize(): string };
}

interface Span {
  spanContext(): SpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: { name?: string; message?: string; code?: string }): void;
  end(): void;
}

interface Tracer {
  startSpan(name: string, options: { kind: number; attributes: Attributes }, context: unknown): Span;
}

/** The part of `@opentelemetry/api` (1.4 or later) the sdk uses. */
export interface OpenTelemetryApi {
  trace: {
    getTracer(name: string): Tracer;
    setSpan(context: unknown, span: Span): unknown;
    isSpanContextValid(spanContext: SpanContext): boolean;
  };
  context: { active(): unknown };
  propagation: { inject(context: unknown, carrier: Record<string, string>): void };
  SpanKind: { CLIENT: number };
  SpanStatusCode: { ERROR: number };
}

const packageName = '@opentelemetry/api';
/** The instrumentation scope of the sdk's spans. */
export const tracerName = '@snakepit/sdk';

function isOpenTelemetryApi(value: unknown): value is OpenTelemetryApi {
  const candidate = value as Partial<OpenTelemetryApi> | undefined;
  return (
    typeof candidate?.trace?.getTracer === 'function' &&
    typeof candidate.context?.active === 'function' &&
    typeof candidate.propagation?.inject === 'function' &&
    typeof candidate.SpanKind === 'object'
  );
}

/**
 * Loads the API with `load` (Node's `require`, resolved from this package's location, so the
 * application's copy is found); undefined when it is not installed or not usable.
 */
export function loadOpenTelemetryApi(load: (id: string) => unknown): OpenTelemetryApi | undefined {
  try {
    const loaded = load(packageName);
    return isOpenTelemetryApi(loaded) ? loaded : undefined;
  } catch {
    return undefined;
  }
}

let installedApi: OpenTelemetryApi | null | undefined;

/**
 * The installed API, looked up on first use and remembered (also when missing), so pools created
 * later pay nothing. tsup's shims give the CommonJS build an `import.meta.url`.
 */
export function installedOpenTelemetryApi(): OpenTelemetryApi | undefined {
  if (installedApi === undefined) {
    installedApi = loadOpenTelemetryApi((id) => createRequire(import.meta.url)(id)) ?? null;
  }
  return installedApi ?? undefined;
}

/** The traceparent of a span context (W3C Trace Context, version 00). */
export function formatTraceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

export type CallKind = 'execute' | 'stream';

export interface CallSpanStart {
  kind: CallKind;
  tool: string;
  correlationId: string;
  sessionId?: string;
  /** The context captured when the call was made (`tracer.activeContext()`). */
  parent: unknown;
}

/** The span of one pool call. */
export interface CallSpan {
  /** The headers that carry this span's trace context to the worker; undefined when it has none. */
  readonly headers: Record<string, string> | undefined;
  dispatched(workerId: string): void;
  succeeded(halted: boolean): void;
  failed(error: SnakepitError): void;
}

export interface CallTracer {
  /** The caller's active context; captured when a call is made, used as the parent of its span. */
  activeContext(): unknown;
  start(call: CallSpanStart): CallSpan;
}

/**
 * Span calls run inside the pool's bookkeeping (a failure is recorded before the caller hears of
 * it), so a throwing span processor or exporter is contained here and never reaches the pool.
 */
function contained(work: () => void): void {
  try {
    work();
  } catch {
    // Tracing is best effort.
  }
}

const noSpan: CallSpan = { headers: undefined, dispatched() {}, succeeded() {}, failed() {} };

class OpenTelemetryCallSpan implements CallSpan {
  constructor(
    private readonly api: OpenTelemetryApi,
    private readonly span: Span,
    readonly headers: Record<string, string> | undefined,
  ) {}

  dispatched(workerId: string): void {
    contained(() => this.span.setAttribute('snakepit.worker.id', workerId));
  }

  succeeded(halted: boolean): void {
    contained(() => {
      this.span.setAttribute('snakepit.call.outcome', halted ? 'halted' : 'ok');
      this.span.end();
    });
  }

  failed(error: SnakepitError): void {
    contained(() => {
      const span = this.span;
      span.setAttribute('snakepit.call.outcome', 'error');
      span.setAttribute('error.type', error.code);
      if (error.pythonType !== undefined) span.setAttribute('snakepit.python.type', error.pythonType);
      // The message only: an sdk stack says nothing about a Python failure, and a Python
      // traceback belongs in logs, not in every exported span.
      span.recordException({ name: error.pythonType ?? error.name, message: error.message, code: error.code });
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: error.message });
      span.end();
    });
  }
}

/** Creates the pool's tracer; undefined (tracing off) when the API is not available. */
export function createCallTracer(api: OpenTelemetryApi | undefined): CallTracer | undefined {
  if (api === undefined) return undefined;
  const tracer = api.trace.getTracer(tracerName);
  return {
    activeContext(): unknown {
      try {
        return api.context.active();
      } catch {
        return undefined;
      }
    },
    start(call: CallSpanStart): CallSpan {
      const attributes: Attributes = {
        'snakepit.tool.name': call.tool,
        'snakepit.call.kind': call.kind,
        'snakepit.correlation.id': call.correlationId,
      };
      if (call.sessionId !== undefined) attributes['snakepit.session.id'] = call.sessionId;
      try {
        const span = tracer.startSpan(`snakepit.${call.kind} ${call.tool}`, { kind: api.SpanKind.CLIENT, attributes }, call.parent);
        return new OpenTelemetryCallSpan(api, span, traceHeaders(api, span, call.parent));
      } catch {
        return noSpan;
      }
    },
  };
}

/**
 * The registered propagator writes the headers, so a W3C (or any other) propagator the application
 * configured is honoured. The worker reads `traceparent`, so when the propagator wrote none (none is
 * registered, or it speaks another format) the sdk adds one built from the span context itself.
 */
function traceHeaders(api: OpenTelemetryApi, span: Span, parent: unknown): Record<string, string> | undefined {
  const spanContext = span.spanContext();
  // No SDK and no incoming trace: there is no trace to join.
  if (!api.trace.isSpanContextValid(spanContext)) return undefined;
  const carrier: Record<string, string> = {};
  try {
    api.propagation.inject(api.trace.setSpan(parent, span), carrier);
  } catch {
    // A broken propagator must not fail the call; the fallback below still links the trace.
  }
  if (typeof carrier.traceparent !== 'string') {
    carrier.traceparent = formatTraceparent(spanContext);
    const traceState = spanContext.traceState?.serialize();
    if (traceState) carrier.tracestate = traceState;
  }
  return carrier;
}
