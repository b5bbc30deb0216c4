/**
 * One call's life in the pool: created, queued, running, settled, exactly once. The call owns its
 * single timer (queue timeout or deadline, whichever comes first, then the deadline) and its
 * caller's AbortSignal. When it fails from outside (deadline, abort, crash, close) the caller hears
 * at once and the worker's signal is aborted with the same error; the worker slot is released only
 * when the adapter call itself settles, which the pool learns through `host.release`.
 */
import type { AdapterWorkerV1, CallContext, CallRequest } from '../adapter.js';
import { errors, SnakepitError, type SnakepitErrorCode } from '../errors.js';
import type { PoolTelemetry } from '../telemetry.js';
import type { CallSpan } from '../tracing/opentelemetry.js';
import type { AffinityMode } from '../types.js';
import type { CallObserver, ObservedCall } from './call-observer.js';
import type { CallQueue, QueueEntry } from './call-queue.js';
import type { PoolEventEmitter, QueueLeaveReason } from './events.js';
import type { WorkerSlot } from './worker-slot.js';

export interface CallHost {
  readonly events: PoolEventEmitter;
  readonly telemetry: PoolTelemetry;
  /** Debug log lines and tracing spans per call. */
  readonly observer: CallObserver;
  /** Takes a waiting call out of its queue (it failed while waiting). */
  leaveQueue(call: PoolCall, reason: QueueLeaveReason): void;
  /** The adapter call of `call` settled: `slot` may take another call. */
  release(slot: WorkerSlot, call: PoolCall, error: SnakepitError | undefined): void;
  /** A running call settled (for draining on close). */
  callSettled(): void;
}

export type CallState = 'created' | 'queued' | 'running' | 'settled';

export function toSnakepitError(error: unknown, operation: string): SnakepitError {
  return SnakepitError.isInstance(error) ? error : errors.adapterFailure(operation, error);
}

function queueLeaveReason(code: SnakepitErrorCode): QueueLeaveReason {
  switch (code) {
    case 'queue_timeout':
    case 'timeout':
      return 'timeout';
    case 'aborted':
      return 'aborted';
    case 'startup_failed':
      return 'startup_failed';
    case 'worker_busy':
      return 'worker_busy';
    default:
      return 'closed';
  }
}

export abstract class PoolCall implements QueueEntry<PoolCall>, ObservedCall {
  queue: CallQueue<PoolCall> | undefined;
  queuePrevious: PoolCall | undefined;
  queueNext: PoolCall | undefined;
  queueSequence = 0;
  state: CallState = 'created';
  worker: WorkerSlot | undefined;
  createdAt = 0;
  deadlineAt = 0;
  enqueuedAt = 0;
  dispatchedAt = 0;
  argsDescription: string | undefined;
  traceParent: unknown;
  span: CallSpan | undefined;
  protected controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerIsQueueTimeout = false;

  constructor(
    protected readonly host: CallHost,
    readonly id: number,
    readonly request: CallRequest,
    readonly affinity: AffinityMode,
    readonly timeoutMs: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {}

  get tool(): string {
    return this.request.tool;
  }

  get sessionId(): string | undefined {
    return this.request.sessionId;
  }

  /** Starts the call's clock and listens to its signal; false when the call is already over. */
  begin(): boolean {
    this.createdAt = performance.now();
    this.deadlineAt = Date.now() + this.timeoutMs;
    const signal = this.callerSignal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.fail(errors.aborted(this.tool, signal.reason));
        return false;
      }
      signal.addEventListener('abort', this.onCallerAbort, { once: true });
    }
    return true;
  }

  /** Entered a queue: the earlier of its queue timeout and its deadline now bounds it. */
  waitInQueue(queueTimeoutMs: number): void {
    this.state = 'queued';
    this.enqueuedAt = performance.now();
    const untilDeadline = this.deadlineAt - Date.now();
    this.timerIsQueueTimeout = queueTimeoutMs < untilDeadline;
    this.arm(this.timerIsQueueTimeout ? queueTimeoutMs : untilDeadline);
  }

  /** Dispatched to `slot`: runs the adapter call under the call's deadline and abort signal. */
  start(slot: WorkerSlot): void {
    this.state = 'running';
    this.worker = slot;
    this.dispatchedAt = performance.now();
    if (this.timer === undefined || this.timerIsQueueTimeout) {
      this.timerIsQueueTimeout = false;
      this.arm(this.deadlineAt - Date.now());
    }
    this.controller = new AbortController();
    const telemetry = this.host.telemetry;
    telemetry.inFlight += 1;
    const waitMs = this.dispatchedAt - this.createdAt;
    telemetry.waitTime.record(waitMs);
    const events = this.host.events;
    if (events.has('call:start')) {
      events.emit('call:start', { ...this.identity(), workerId: slot.id, waitMs });
    }
    this.host.observer.started(this, slot.id, waitMs);
    this.run(slot.worker!, { signal: this.controller.signal, deadline: this.deadlineAt }, slot);
  }

  /** Ends the call with `error`, unless it already ended; the caller hears at once. */
  fail(error: SnakepitError): boolean {
    const previous = this.state;
    if (previous === 'settled') return false;
    this.settle();
    if (previous === 'queued') this.host.leaveQueue(this, queueLeaveReason(error.code));
    const telemetry = this.host.telemetry;
    telemetry.recordFailure(error.code);
    let durationMs: number | undefined;
    if (previous === 'running') {
      durationMs = performance.now() - this.dispatchedAt;
      telemetry.runTime.record(durationMs);
      telemetry.inFlight -= 1;
      // Same error as the caller's, so the adapter can tell a deadline from an abort.
      this.controller!.abort(error);
    }
    const events = this.host.events;
    if (events.has('call:error')) {
      const waitMs = (previous === 'running' ? this.dispatchedAt : performance.now()) - this.createdAt;
      events.emit('call:error', {
        ...this.identity(),
        ...(this.worker !== undefined ? { workerId: this.worker.id } : {}),
        waitMs,
        ...(durationMs !== undefined ? { durationMs } : {}),
        code: error.code,
        error,
      });
    }
    this.host.observer.failed(this, error, this.worker?.id, durationMs);
    this.deliverError(error);
    if (previous === 'running') {
      this.host.callSettled();
      this.afterRunningFailure();
    }
    return true;
  }

  /**
   * Ends a running call successfully; false when it already ended (its result is then dropped).
   * `result` is the unary call's value, for the debug log's summary of it.
   */
  protected succeed(halted: boolean, hasResult = false, result?: unknown): boolean {
    if (this.state !== 'running') return false;
    this.settle();
    const durationMs = performance.now() - this.dispatchedAt;
    const telemetry = this.host.telemetry;
    telemetry.runTime.record(durationMs);
    telemetry.counters.completed += 1;
    telemetry.inFlight -= 1;
    const events = this.host.events;
    if (events.has('call:end')) {
      events.emit('call:end', {
        ...this.identity(),
        workerId: this.worker!.id,
        waitMs: this.dispatchedAt - this.createdAt,
        durationMs,
        halted,
      });
    }
    this.host.observer.succeeded(this, this.worker!.id, durationMs, halted, hasResult, result);
    this.host.callSettled();
    return true;
  }

  protected abstract run(worker: AdapterWorkerV1, context: CallContext, slot: WorkerSlot): void;

  /** Hands the failure to whoever waits for the call. */
  protected abstract deliverError(error: SnakepitError): void;

  /** Cleanup after a running call failed from outside (a stream closes its iterator). */
  protected afterRunningFailure(): void {}

  private identity() {
    const sessionId = this.request.sessionId;
    return {
      callId: this.id,
      correlationId: this.request.correlationId,
      tool: this.request.tool,
      ...(sessionId !== undefined ? { sessionId } : {}),
    };
  }

  private readonly onCallerAbort = (): void => {
    this.fail(errors.aborted(this.tool, this.callerSignal?.reason));
  };

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.state === 'queued' && this.timerIsQueueTimeout) {
      this.fail(errors.queueTimeout(Math.round(performance.now() - this.enqueuedAt)));
    } else {
      this.fail(errors.timeout(this.timeoutMs, this.tool));
    }
  };

  private arm(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimer, Math.max(0, delayMs));
  }

  private settle(): void {
    this.state = 'settled';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}

/** A call that returns one result: `promise` is what `pool.execute` hands back. */
export class UnaryCall extends PoolCall {
  readonly promise: Promise<unknown>;
  private resolvePromise!: (value: unknown) => void;
  private rejectPromise!: (error: SnakepitError) => void;

  constructor(...parameters: ConstructorParameters<typeof PoolCall>) {
    super(...parameters);
    this.promise = new Promise((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
  }

  protected run(worker: AdapterWorkerV1, context: CallContext, slot: WorkerSlot): void {
    let pending: Promise<unknown>;
    try {
      pending = worker.doExecute(this.request, context);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => {
        if (this.succeed(false, true, value)) this.resolvePromise(value);
        this.host.release(slot, this, undefined);
      },
      (error: unknown) => {
        const failure = toSnakepitError(error, 'execute');
        this.fail(failure);
        this.host.release(slot, this, failure);
      },
    );
  }

  protected deliverError(error: SnakepitError): void {
    this.rejectPromise(error);
  }
}
