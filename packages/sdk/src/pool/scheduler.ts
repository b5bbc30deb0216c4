/**
 * Routes calls to workers. A call goes to the least-loaded ready worker with free capacity (its
 * session's worker first, per the affinity mode); when none is free it waits in a FIFO queue. Calls
 * pinned to one worker ('strict-queue') wait in that worker's own queue; a freed worker serves
 * whichever of its own queue and the shared queue has waited longest, so order stays FIFO.
 *
 * Invariant: while the shared queue is not empty, no ready worker has free capacity (every path
 * that frees capacity or adds a worker drains the queues first), so a new call that finds a free
 * worker never jumps ahead of a waiting one.
 */
import { errors, type SnakepitError } from '../errors.js';
import type { CallRecorder } from '../observability/call-recorder.js';
import type { QueueLeaveReason } from '../observability/events.js';
import type { Logger } from '../observability/logging.js';
import type { WorkerSlot } from '../workers/worker-slot.js';
import { CallQueue } from './call-queue.js';
import type { PoolCall } from './pool-call.js';
import { SessionAffinity } from './session-affinity.js';

/** How many sessions the pool remembers a worker for. */
export const sessionMemoryLimit = 100_000;

/** What the worker side does when the scheduler routes to, or learns something about, a worker. */
export interface WorkerEvents {
  /** A call was dispatched to `slot` (recycling counts requests here). */
  dispatched(slot: WorkerSlot): void;
  /** The adapter said the worker died before the pool saw it exit: stop routing to it. */
  workerReportedDead(slot: WorkerSlot): void;
  /** A draining worker finished its last call. */
  drained(slot: WorkerSlot): void;
}

export interface SchedulerHost {
  readonly recorder: CallRecorder;
  readonly logger: Logger;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number;
  /** Why no call may be accepted right now (closed, or no worker can start), if so. */
  refusal(): SnakepitError | undefined;
}

export class Scheduler {
  readonly affinity = new SessionAffinity<WorkerSlot>(sessionMemoryLimit);
  private readonly shared = new CallQueue<PoolCall>();
  private readonly pinned = new Map<WorkerSlot, CallQueue<PoolCall>>();
  private readonly ready: WorkerSlot[] = [];
  private queued = 0;
  private enqueueSequence = 0;
  private dispatchSequence = 0;

  /** Set once by the worker supervisor, which owns the workers this scheduler routes to. */
  private workers: WorkerEvents | undefined;

  constructor(private readonly host: SchedulerHost) {}

  attachWorkers(workers: WorkerEvents): void {
    this.workers = workers;
  }

  get queueLength(): number {
    return this.queued;
  }

  get readyWorkers(): readonly WorkerSlot[] {
    return this.ready;
  }

  /** Routes a call whose clock has started (`PoolCall.begin`). */
  submit(call: PoolCall): void {
    const refusal = this.host.refusal();
    if (refusal !== undefined) {
      call.fail(refusal);
      return;
    }
    const sessionId = call.sessionId;
    let sessionWorker: WorkerSlot | undefined;
    if (sessionId !== undefined) {
      sessionWorker = this.affinity.workerOf(sessionId);
      if (sessionWorker !== undefined) {
        if (sessionWorker.hasFreeCapacity()) {
          this.dispatch(call, sessionWorker);
          return;
        }
        if (call.affinity === 'strict-fail-fast') {
          call.fail(errors.workerBusy(sessionId, sessionWorker.id));
          return;
        }
        if (call.affinity === 'strict-queue') {
          this.enqueue(call, sessionWorker);
          return;
        }
      }
    }
    const free = this.leastLoaded(sessionId !== undefined && sessionWorker === undefined);
    if (free !== undefined) this.dispatch(call, free);
    else this.enqueue(call, undefined);
  }

  /** A worker became ready: it takes calls from now on. */
  addReady(slot: WorkerSlot): void {
    this.ready.push(slot);
    this.pump(slot);
  }

  /** A worker stopped taking calls (draining, stopping, gone): its sessions and waiting calls move on. */
  removeReady(slot: WorkerSlot): void {
    const index = this.ready.indexOf(slot);
    if (index >= 0) this.ready.splice(index, 1);
    this.affinity.forgetWorker(slot);
    const waiting = this.pinned.get(slot);
    if (waiting === undefined) return;
    this.pinned.delete(slot);
    if (waiting.length === 0) return;
    // Their session's worker is gone: they go to any worker, and the session sticks there.
    this.shared.absorb(waiting);
    for (const candidate of [...this.ready]) this.pump(candidate);
  }

  /** The adapter call of `call` settled on `slot`. */
  release(slot: WorkerSlot, call: PoolCall, error: SnakepitError | undefined): void {
    if (!slot.calls.delete(call)) return;
    if (slot.state === 'ready') {
      if (error?.code === 'worker_exit') {
        this.workers!.workerReportedDead(slot);
        return;
      }
      this.pump(slot);
    } else if (slot.state === 'draining' && slot.calls.size === 0) {
      this.workers!.drained(slot);
    }
  }

  leaveQueue(call: PoolCall, reason: QueueLeaveReason): void {
    const queue = call.queue;
    if (queue === undefined || !queue.remove(call)) return;
    this.queued -= 1;
    this.host.recorder.leftQueue(call, reason);
  }

  /** Fails every waiting call (pool closing, or no worker can start). */
  failQueued(error: () => SnakepitError, onlyShared = false): void {
    const waiting = onlyShared ? this.shared.toArray() : [...this.shared.toArray(), ...this.allPinned()];
    for (const call of waiting) call.fail(error());
  }

  private allPinned(): PoolCall[] {
    const calls: PoolCall[] = [];
    for (const queue of this.pinned.values()) calls.push(...queue.toArray());
    return calls;
  }

  private leastLoaded(newSession: boolean): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const slot of this.ready) {
      if (slot.calls.size >= slot.capacity) continue;
      if (best === undefined || Scheduler.lessLoaded(slot, best, newSession)) best = slot;
    }
    return best;
  }

  private static lessLoaded(candidate: WorkerSlot, best: WorkerSlot, newSession: boolean): boolean {
    const candidateLoad = candidate.calls.size / candidate.capacity;
    const bestLoad = best.calls.size / best.capacity;
    if (candidateLoad !== bestLoad) return candidateLoad < bestLoad;
    // A new session goes where fewer sessions live, so sessions spread out and rarely contend.
    if (newSession && candidate.sessions.size !== best.sessions.size) return candidate.sessions.size < best.sessions.size;
    // Otherwise the worker idle the longest, which spreads calls (and request counts) evenly.
    return candidate.lastDispatch < best.lastDispatch;
  }

  private enqueue(call: PoolCall, pinnedTo: WorkerSlot | undefined): void {
    const maxQueue = this.host.maxQueue;
    if (this.queued >= maxQueue) {
      this.host.recorder.saturated(this.queued, maxQueue);
      call.fail(errors.poolSaturated(maxQueue));
      return;
    }
    let queue = this.shared;
    if (pinnedTo !== undefined) {
      queue = this.pinned.get(pinnedTo) ?? new CallQueue<PoolCall>();
      this.pinned.set(pinnedTo, queue);
    }
    call.queueSequence = ++this.enqueueSequence;
    queue.push(call);
    this.queued += 1;
    call.waitInQueue(this.host.queueTimeoutMs);
    this.host.recorder.enteredQueue(call, this.queued);
  }

  /** Gives `slot` waiting calls while it has free capacity, longest-waiting first. */
  private pump(slot: WorkerSlot): void {
    while (slot.hasFreeCapacity()) {
      const call = this.nextFor(slot);
      if (call === undefined) return;
      this.host.recorder.leftQueue(call, 'dispatched');
      this.dispatch(call, slot);
    }
  }

  /** Dequeues the next call `slot` may serve, or undefined. */
  private nextFor(slot: WorkerSlot): PoolCall | undefined {
    for (;;) {
      const own = this.pinned.get(slot)?.peek();
      const shared = this.shared.peek();
      const call = own !== undefined && (shared === undefined || own.queueSequence < shared.queueSequence) ? own : shared;
      if (call === undefined) return undefined;
      if (call === shared && call.affinity !== 'hint' && call.sessionId !== undefined) {
        // A strict call whose session found a worker while it waited belongs to that worker now.
        const owner = this.affinity.workerOf(call.sessionId);
        if (owner !== undefined && owner !== slot) {
          this.redirect(call, owner);
          continue;
        }
      }
      call.queue!.remove(call);
      this.queued -= 1;
      return call;
    }
  }

  private redirect(call: PoolCall, owner: WorkerSlot): void {
    if (owner.hasFreeCapacity()) {
      this.shared.remove(call);
      this.queued -= 1;
      this.host.recorder.leftQueue(call, 'dispatched');
      this.dispatch(call, owner);
    } else if (call.affinity === 'strict-fail-fast') {
      call.fail(errors.workerBusy(call.sessionId!, owner.id));
    } else {
      this.shared.remove(call);
      const queue = this.pinned.get(owner) ?? new CallQueue<PoolCall>();
      this.pinned.set(owner, queue);
      queue.insertInOrder(call);
    }
  }

  private dispatch(call: PoolCall, slot: WorkerSlot): void {
    slot.calls.add(call);
    slot.callsServed += 1;
    slot.lastDispatch = ++this.dispatchSequence;
    const sessionId = call.sessionId;
    if (sessionId !== undefined && this.affinity.assign(sessionId, slot)) this.beginSession(slot, sessionId);
    call.start(slot);
    this.workers!.dispatched(slot);
  }

  /** Tells the worker about a session that just landed on it, without delaying the call. */
  private beginSession(slot: WorkerSlot, sessionId: string): void {
    const worker = slot.worker;
    if (worker?.doBeginSession === undefined) return;
    try {
      Promise.resolve(worker.doBeginSession(sessionId)).catch((error: unknown) => this.sessionNoticeFailed(slot, error));
    } catch (error) {
      this.sessionNoticeFailed(slot, error);
    }
  }

  private sessionNoticeFailed(slot: WorkerSlot, error: unknown): void {
    this.host.logger.warn({ workerId: slot.id, error }, 'worker did not accept a session-begin notice');
  }

}
