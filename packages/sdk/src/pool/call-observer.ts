/**
 * What the pool tells the outside about each call besides its events: a debug log line when the call
 * starts and when it ends (arguments and results only ever as `describe` summaries), and, when
 * OpenTelemetry is installed, the call's span and the trace headers sent to the worker.
 *
 * This sits on every call's path, so each hook first asks whether there is anything to do: with
 * logging off and no tracer, a call costs a few property reads here.
 */
import { describe } from '@snakepit/redaction';
import type { SnakepitError } from '../errors.js';
import { isLevelEnabled, type Logger } from '../logging.js';
import type { CallKind, CallSpan, CallTracer } from '../tracing/opentelemetry.js';
import type { ToolArguments } from '../types.js';

/** The parts of a pool call the observer reads and the per-call state it keeps. */
export interface ObservedCall {
  readonly id: number;
  readonly request: { tool: string; correlationId: string; sessionId?: string; traceContext?: Record<string, string> };
  /** `describe(args)`, computed when the call was made, only if debug logging was on. */
  argsDescription: string | undefined;
  /** The caller's context when the call was made, only if tracing is on. */
  traceParent: unknown;
  span: CallSpan | undefined;
}

export class CallObserver {
  constructor(
    private readonly logger: Logger,
    private readonly tracer: CallTracer | undefined,
  ) {}

  /** When the call is made, in the caller's own context: what must be captured now or never. */
  created(call: ObservedCall, args: ToolArguments | undefined): void {
    if (this.tracer !== undefined) call.traceParent = this.tracer.activeContext();
    // Described now, while the arguments are at hand; the call keeps only the summary.
    if (isLevelEnabled(this.logger, 'debug')) call.argsDescription = describe(args ?? {});
  }

  /** When the call is handed to the scheduler: its span opens and its trace headers are set. */
  submitted(call: ObservedCall, kind: CallKind): void {
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

  started(call: ObservedCall, workerId: string, waitMs: number): void {
    call.span?.dispatched(workerId);
    const logger = this.logger;
    if (!isLevelEnabled(logger, 'debug')) return;
    logger.debug({ ...identity(call), workerId, waitMs, args: call.argsDescription }, 'call started');
  }

  /** `result` is only described when `hasResult` (a stream has chunks, not a result). */
  succeeded(call: ObservedCall, workerId: string, durationMs: number, halted: boolean, hasResult: boolean, result: unknown): void {
    call.span?.succeeded(halted);
    const logger = this.logger;
    if (!isLevelEnabled(logger, 'debug')) return;
    const fields: Record<string, unknown> = { ...identity(call), workerId, durationMs };
    if (halted) fields.halted = true;
    if (hasResult) fields.result = describe(result);
    logger.debug(fields, 'call finished');
  }

  failed(call: ObservedCall, error: SnakepitError, workerId: string | undefined, durationMs: number | undefined): void {
    call.span?.failed(error);
    const logger = this.logger;
    if (!isLevelEnabled(logger, 'debug')) return;
    const fields: Record<string, unknown> = { ...identity(call), code: error.code, error };
    if (workerId !== undefined) fields.workerId = workerId;
    if (durationMs !== undefined) fields.durationMs = durationMs;
    logger.debug(fields, 'call failed');
  }
}

function identity(call: ObservedCall): Record<string, unknown> {
  const { request } = call;
  const fields: Record<string, unknown> = { callId: call.id, correlationId: request.correlationId, tool: request.tool };
  if (request.sessionId !== undefined) fields.sessionId = request.sessionId;
  return fields;
}
