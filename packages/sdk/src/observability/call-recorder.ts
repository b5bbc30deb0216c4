/**
 * Everything the pool tells the outside about each call, in one place: the `call:*` and
 * `queue:*` events, the counters and histograms behind `stats()`, a debug log line when the call
 * starts and when it ends (arguments and results only ever as `describe` summaries), and, when
 * OpenTelemetry is installed, the call's span and the trace headers sent to the worker.
 *
 * This sits on every call's path, so each hook first asks whether there is anything to do: with
 * nobody listening, logging off and no tracer, a call costs a few property reads and counter
 * updates here.
 */
import { describe } from '@snakepit/redaction';
import type { SnakepitError } from '../errors.js';
import type { ToolArguments } from '../wire/arguments.js';
import type { PoolEventEmitter, QueueLeaveReason } from './events.js';
import { isLevelEnabled, type Logger } from './logging.js';
import type { PoolMetrics } from './metrics.js';
import type { CallKind, CallSpan, CallTracer } from './tracing.js';

/** The parts of a pool call the recorder reads and the per-call state it keeps. */
export interface RecordedCall {
  readonly id: number;
  readonly request: { tool: string; correlationId: string; sessionId?: string; traceContext?: Record<string, string> };
  /** `performance.now()` when the call was submitted, dispatched, and queued. */
  readonly createdAt: number;
  readonly dispatchedAt: number;
  readonly enqueuedAt: number;
  /** `describe(args)`, computed when the call was made, only if debug logging was on. */
  argsDescription: string | undefined;
  /** The caller's context when the call was made, only if tracing is on. */
  traceParent: unknown;
  span: CallSpan | undefined;
}

export class CallRecorder {
  /** Called whenever a running call settles and none is left running (close() drains on it). */
  idle: (() => void) | undefined;

  constructor(
    readonly events: PoolEventEmitter,
    readonly metrics: PoolMetrics,
    private readonly logger: Logger,
    private readonly tracer: CallTracer | undefined,
  ) {}

  /** When the call is made, in the caller's own context: what must be captured now or never. */
  created(call: RecordedCall, args: ToolArguments | undefined): void {
    if (this.tracer !== undefined) call.traceParent = this.tracer.activeContext();
    // Described now, while the arguments are at hand; the call keeps only the summary.
    if (isLevelEnabled(this.logger, 'debug')) call.argsDescription = describe(args ?? {});
  }

  /** When the call enters the pool: its span opens and its trace headers are set. */
  submitted(call: RecordedCall, kind: CallKind): void {
    const tracer = this.tracer;
    if (tracer === undefined || call.span !== undefined) return;
    const { request } = call;
    const span = tracer.start({
      kind,
      tool: request.tool,
      correlationId: request.correlationId,
      ...(request.sessionId !== undefined ? { sessionId: request.sessionId } : {}),
      parent: call.traceParent,
    });
    call.span = span;
    call.traceParent = undefined;
    if (span.headers !== undefined) request.traceContext = span.headers;
  }

  enteredQueue(call: RecordedCall, queueLength: number): void {
    const events = this.events;
    if (events.has('queue:enter')) {
      events.emit('queue:enter', { callId: call.id, correlationId: call.request.correlationId, queueLength });
    }
  }

  leftQueue(call: RecordedCall, reason: QueueLeaveReason): void {
    const events = this.events;
    if (events.has('queue:leave')) {
      events.emit('queue:leave', {
        callId: call.id,
        correlationId: call.request.correlationId,
        waitMs: performance.now() - call.enqueuedAt,
        reason,
      });
    }
  }

  saturated(queueLength: number, maxQueue: number): void {
    const events = this.events;
    if (events.has('pool:saturated')) events.emit('pool:saturated', { queueLength, maxQueue });
  }

  started(call: RecordedCall, workerId: string): void {
    const metrics = this.metrics;
    metrics.inFlight += 1;
    const waitMs = call.dispatchedAt - call.createdAt;
    metrics.waitTime.record(waitMs);
    const events = this.events;
    if (events.has('call:start')) events.emit('call:start', { ...identity(call), workerId, waitMs });
    call.span?.dispatched(workerId);
    const logger = this.logger;
    if (!isLevelEnabled(logger, 'debug')) return;
    logger.debug({ ...identity(call), workerId, waitMs, args: call.argsDescription }, 'call started');
  }

  /** The worker refused the running call before it ran (`PoolCall.returnAfterRefusal`): it is no longer in flight. */
  refused(call: RecordedCall, workerId: string, reason: string): void {
    const metrics = this.metrics;
    metrics.inFlight -= 1;
    metrics.counters.refusals += 1;
    const events = this.events;
    if (events.has('call:refused')) events.emit('call:refused', { ...identity(call), workerId, reason });
    this.logger.debug({ ...identity(call), workerId, reason }, 'call refused by its worker; put back');
    // No longer running: a close() that drains must not wait for it.
    this.settledRunning();
  }

  /** A running call ended well; `result` is only described when `hasResult` (a stream has chunks, not a result). */
  succeeded(call: RecordedCall, workerId: string, halted: boolean, hasResult: boolean, result: unknown): void {
    const durationMs = performance.now() - call.dispatchedAt;
    const metrics = this.metrics;
    metrics.runTime.record(durationMs);
    metrics.counters.completed += 1;
    metrics.inFlight -= 1;
    const events = this.events;
    if (events.has('call:end')) {
      events.emit('call:end', { ...identity(call), workerId, waitMs: call.dispatchedAt - call.createdAt, durationMs, halted });
    }
    call.span?.succeeded(halted);
    const logger = this.logger;
    if (isLevelEnabled(logger, 'debug')) {
      const fields: Record<string, unknown> = { ...identity(call), workerId, durationMs };
      if (halted) fields.halted = true;
      if (hasResult) fields.result = describe(result);
      logger.debug(fields, 'call finished');
    }
    this.settledRunning();
  }

  /** The call ended in `error`; `workerId` is set when it was running on that worker. */
  failed(call: RecordedCall, error: SnakepitError, workerId: string | undefined): void {
    const metrics = this.metrics;
    metrics.recordFailure(error.code);
    let durationMs: number | undefined;
    if (workerId !== undefined) {
      durationMs = performance.now() - call.dispatchedAt;
      metrics.runTime.record(durationMs);
      metrics.inFlight -= 1;
    }
    const events = this.events;
    if (events.has('call:error')) {
      const waitMs = (workerId !== undefined ? call.dispatchedAt : performance.now()) - call.createdAt;
      events.emit('call:error', {
        ...identity(call),
        ...(workerId !== undefined ? { workerId } : {}),
        waitMs,
        ...(durationMs !== undefined ? { durationMs } : {}),
        code: error.code,
        error,
      });
    }
    call.span?.failed(error);
    const logger = this.logger;
    if (isLevelEnabled(logger, 'debug')) {
      const fields: Record<string, unknown> = { ...identity(call), code: error.code, error };
      if (workerId !== undefined) fields.workerId = workerId;
      if (durationMs !== undefined) fields.durationMs = durationMs;
      logger.debug(fields, 'call failed');
    }
    if (workerId !== undefined) this.settledRunning();
  }

  private settledRunning(): void {
    if (this.idle !== undefined && this.metrics.inFlight === 0) this.idle();
  }
}

function identity(call: RecordedCall): { callId: number; correlationId: string; tool: string; sessionId?: string } {
  const { request } = call;
  return {
    callId: call.id,
    correlationId: request.correlationId,
    tool: request.tool,
    ...(request.sessionId !== undefined ? { sessionId: request.sessionId } : {}),
  };
}
