/**
 * One call's life in the pool: created, queued, running, settled, exactly once. The call owns its
 * single timer (queue timeout or deadline, whichever comes first, then the deadline) and its
 * caller's AbortSignal. When it fails from outside (deadline, abort, crash, close) the caller hears
 * at once and the worker's signal is aborted with the same error; the worker slot is released only
 * when the adapter call itself settles, which the scheduler learns through `release`.
 *
 * Two kinds share this life: `ExecuteCall` (one result) and `StreamCall` (an iterator). Both are
 * made from a `CallPlan` (`new ExecuteCall(host, plan)`, `new StreamCall(host, plan)`), and enter the pool through
 * `host.admit` — session calls too, with the session as data in the request.
 */
import type { AdapterWorkerV1, CallContext, CallRequest } from '../adapter/v1/adapter.js';
import { errors, SnakepitError, type SnakepitErrorCode } from '../errors.js';
import type { CallRecorder, RecordedCall } from '../observability/call-recorder.js';
import type { QueueLeaveReason } from '../observability/events.js';
import type { CallSpan } from '../observability/tracing.js';
import type { WorkerSlot } from '../workers/worker-slot.js';
import type { AffinityMode } from './call-options.js';
import type { CallQueue, QueueEntry } from './call-queue.js';
import type { Scheduler } from './scheduler.js';

export interface CallHost {
  /** Events, metrics, logs and spans of each call. */
  readonly recorder: CallRecorder;
  /** Where a call waits and runs: told when a call leaves its queue early and when its worker is free again. */
  readonly scheduler: Pick<Scheduler, 'leaveQueue' | 'release' | 'refused'>;
  /** The pool's one door for calls: makes sure a session call's session exists, then schedules it. */
  admit(call: PoolCall): void;
}

/** What a call is, decided (and validated, and encoded) before it exists. */
export interface CallPlan {
  readonly id: number;
  readonly request: CallRequest;
  readonly affinity: AffinityMode;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
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

export abstract class PoolCall implements QueueEntry<PoolCall>, RecordedCall {
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

  readonly id: number;
  readonly request: CallRequest;
  readonly affinity: AffinityMode;
  readonly timeoutMs: number;
  private readonly callerSignal: AbortSignal | undefined;

  constructor(
    protected readonly host: CallHost,
    plan: CallPlan,
  ) {
    this.id = plan.id;
    this.request = plan.request;
    this.affinity = plan.affinity;
    this.timeoutMs = plan.timeoutMs;
    this.callerSignal = plan.signal;
  }

  get tool(): string {
    return this.request.tool;
  }

  get sessionId(): string | undefined {
    return this.request.sessionId;
  }

  /** Starts the call's clock (its deadline timer) and listens to its signal; false when the call is already over. */
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
    // From now on the deadline bounds everything: a session create, the queue, the run.
    this.arm(this.timeoutMs);
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
    this.host.recorder.started(this, slot.id);
    this.run(slot.worker!, { signal: this.controller.signal, deadline: this.deadlineAt }, slot);
  }

  /** Ends the call with `error`, unless it already ended; the caller hears at once. */
  fail(error: SnakepitError): boolean {
    const previous = this.state;
    if (previous === 'settled') return false;
    this.settle();
    if (previous === 'queued') this.host.scheduler.leaveQueue(this, queueLeaveReason(error.code));
    // Same error as the caller's, so the adapter can tell a deadline from an abort.
    if (previous === 'running') this.controller!.abort(error);
    this.host.recorder.failed(this, error, previous === 'running' ? this.worker!.id : undefined);
    this.deliverError(error);
    if (previous === 'running') this.afterRunningFailure();
    return true;
  }

  /**
   * Ends a running call successfully; false when it already ended (its result is then dropped).
   * `result` is the unary call's value, for the debug log's summary of it.
   */
  protected succeed(halted: boolean, hasResult = false, result?: unknown): boolean {
    if (this.state !== 'running') return false;
    this.settle();
    this.host.recorder.succeeded(this, this.worker!.id, halted, hasResult, result);
    return true;
  }

  /**
   * The worker refused this running call before it ran (a remote worker without room: `worker_busy`
   * marked `refusedByWorker`): the call goes back to the scheduler and its caller sees nothing.
   * False when `error` is no such refusal or the call already ended; the caller then fails it.
   */
  protected returnAfterRefusal(slot: WorkerSlot, error: SnakepitError): boolean {
    if (this.state !== 'running' || error.code !== 'worker_busy' || error.details.refusedByWorker !== true) return false;
    const reason = String(error.details.reason ?? 'busy');
    this.host.recorder.refused(this, slot.id, reason);
    this.worker = undefined;
    this.controller = undefined;
    this.state = 'created';
    this.host.scheduler.refused(slot, this, reason);
    return true;
  }

  protected abstract run(worker: AdapterWorkerV1, context: CallContext, slot: WorkerSlot): void;

  /** Hands the failure to whoever waits for the call. */
  protected abstract deliverError(error: SnakepitError): void;

  /** Cleanup after a running call failed from outside (a stream closes its iterator). */
  protected afterRunningFailure(): void {}

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

