/**
 * Routes calls to workers. A call goes to the least-loaded ready worker with free capacity (its
 * session's worker first, per the affinity mode); when none is free it waits in a FIFO queue. Calls
 * pinned to one worker ('strict-queue') wait in that worker's own queue; a freed worker serves
 * whichever of its own queue and the shared queue has waited longest, so order stays FIFO.
 *
 * Invariant: while the shared queue is not empty, no ready worker has free capacity (every path
 * that frees capacity or adds a worker drains the queues first), so a new call that finds a free
 * worker never jumps ahead of a waiting one.
 *
 * Sessions: a session's worker is the one that served it last (remembered), or — with seats a v2
 * adapter names — the seat that ranks highest for it by rendezvous hashing among the ready ones
 * (rendezvous.ts), so that every Node process sharing a fleet picks the same worker.
 *
 * Refusals: a remote worker shared with other pools may refuse a call it has no room for (the call
 * never ran). The call goes back — to another free worker, or to the queue at its old place — and
 * the worker takes no call for a short, growing pause; a worker that refuses because it drains is
 * treated as gone.
 */
import { errors, type SnakepitError } from '../errors.js';
import type { CallRecorder } from '../observability/call-recorder.js';
import type { QueueLeaveReason } from '../observability/events.js';
import type { Logger } from '../observability/logging.js';
import type { WorkerSlot } from '../workers/worker-slot.js';
import { CallQueue } from './call-queue.js';
import type { PoolCall } from './pool-call.js';
import { SessionAffinity } from './session-affinity.js';
import { rendezvousOwner } from './rendezvous.js';

/** How many sessions the pool remembers a worker for. */
export const sessionMemoryLimit = 100_000;

/** A refusing worker's pause: the first, and the longest after repeated refusals (±50 % jitter). */
const refusalPauseMs = { first: 2, max: 50 };

/** What the worker side does when the scheduler routes to, or learns something about, a worker. */
export interface WorkerEvents {
  /** A call was dispatched to `slot` (recycling counts requests here). */
  dispatched(slot: WorkerSlot): void;
  /** The adapter said the worker died before the pool saw it exit: stop routing to it. */
  workerReportedDead(slot: WorkerSlot): void;
  /** A draining worker finished its last call. */
  drained(slot: WorkerSlot): void;
  /** The worker said it takes no new calls (a server shutting down): its calls in flight finish. */
  workerDraining(slot: WorkerSlot): void;
}

export interface SchedulerHost {
  readonly recorder: CallRecorder;
  readonly logger: Logger;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number;
  /** Why no call may be accepted right now (closed, or no worker can start), if so. */
  refusal(): SnakepitError | undefined;
  /** Place sessions by rendezvous hashing of their id over the workers' seat keys (v2 adapters). */
  readonly rendezvous: boolean;
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
      sessionWorker = this.ownerOf(sessionId);
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
    slot.refusals = 0;
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

  /**
   * `slot`'s worker refused `call` before running it (`PoolCall.refusedBy`): the call goes to another
   * free worker or back into the queue at its place; a strict session call stays with its worker
   * (`strict-fail-fast` fails as busy). The worker pauses, or leaves when it refused for draining.
   */
  refused(slot: WorkerSlot, call: PoolCall, reason: unknown): void {
    if (!slot.calls.delete(call)) return;
    // It never ran there: no request to count toward maxRequestsPerWorker.
    slot.callsServed -= 1;
    if (reason === 'draining') {
      this.workers!.workerDraining(slot);
      if (slot.state === 'draining' && slot.calls.size === 0) this.workers!.drained(slot);
    } else if (slot.state === 'ready') {
      this.pause(slot);
    } else if (slot.state === 'draining' && slot.calls.size === 0) {
      this.workers!.drained(slot);
    }
    // Closing (or no worker can start): a call put back is failed like those that wait in a queue.
    const refusal = this.host.refusal();
    if (refusal !== undefined) {
      call.fail(refusal);
      return;
    }
    const sessionId = call.sessionId;
    if (sessionId !== undefined && call.affinity !== 'hint') {
      const owner = this.ownerOf(sessionId);
      if (owner !== undefined) {
        if (owner.hasFreeCapacity()) this.dispatch(call, owner);
        else if (call.affinity === 'strict-fail-fast') call.fail(errors.workerBusy(sessionId, owner.id));
        else this.requeue(call, owner);
        return;
      }
    }
    const free = this.leastLoaded(false);
    if (free !== undefined) this.dispatch(call, free);
    else this.requeue(call, undefined);
  }

  /** No call goes to `slot` until a pause (growing with each refusal in a row) ends. */
  private pause(slot: WorkerSlot): void {
    slot.refusals += 1;
    const base = Math.min(refusalPauseMs.first * 2 ** (slot.refusals - 1), refusalPauseMs.max);
    clearTimeout(slot.pauseTimer);
    slot.pauseTimer = setTimeout(() => {
      slot.pauseTimer = undefined;
      if (slot.state === 'ready') this.pump(slot);
    }, base * (0.5 + Math.random()));
  }

  /** Back into a queue at its place (ahead of calls that arrived after it), past `maxQueue`: it was admitted already. */
  private requeue(call: PoolCall, pinnedTo: WorkerSlot | undefined): void {
    let queue = this.shared;
    if (pinnedTo !== undefined) {
      queue = this.pinned.get(pinnedTo) ?? new CallQueue<PoolCall>();
      this.pinned.set(pinnedTo, queue);
    }
    queue.insertInOrder(call);
    this.queued += 1;
    call.waitInQueue(this.host.queueTimeoutMs);
    this.host.recorder.enteredQueue(call, this.queued);
  }

  /** The worker a session's calls go to, if any is ready. */
  private ownerOf(sessionId: string): WorkerSlot | undefined {
    return this.host.rendezvous ? rendezvousOwner(sessionId, this.ready) : this.affinity.workerOf(sessionId);
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
      if (!slot.hasFreeCapacity()) continue;
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
        const owner = this.ownerOf(call.sessionId);
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
