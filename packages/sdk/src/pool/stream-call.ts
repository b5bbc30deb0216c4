/**
 * A streaming call, which is also the iterator its caller consumes. It is lazy (scheduled on the
 * first `next()`) and pull-based (one adapter `next()` per caller `next()`, so the Python side's
 * bounded stream gives real backpressure). Stopping early — `break`, `return()`, a thrown error in
 * the loop body, or 'halt' from a callback — aborts the remote call; the worker is released once
 * the adapter's iterator has actually finished.
 */
import type { AdapterWorkerV1, CallContext } from '../adapter/v1/adapter.js';
import { errors, type SnakepitError } from '../errors.js';
import type { Chunk } from '../wire/chunk.js';
import { PoolCall, toSnakepitError } from './pool-call.js';
import type { WorkerSlot } from '../workers/worker-slot.js';

interface PendingNext {
  resolve(result: IteratorResult<Chunk>): void;
  reject(error: unknown): void;
}

const done: IteratorResult<Chunk> = { done: true, value: undefined };

/**
 * How long the end of a stream (the last `next()`, or `return()` after `break`) waits for the
 * adapter's iterator to finish and the worker to be released. Normally a few milliseconds; the bound
 * only matters for an adapter whose iterator never finishes, which must not hang its consumer.
 */
const releaseWaitMs = 1_000;

export class StreamCall extends PoolCall implements AsyncIterableIterator<Chunk> {
  private inner: AsyncIterator<Chunk> | undefined;
  private innerNext: Promise<unknown> | undefined;
  private slot: WorkerSlot | undefined;
  private pending: PendingNext | undefined;
  /** A failure the consumer has not seen yet (it happened between two `next()` calls). */
  private undelivered: SnakepitError | undefined;
  /** The consumer has seen the end: every further `next()` is done. */
  private finished = false;
  private closing = false;
  private released = false;
  /** Ends of the stream waiting for the worker's release (see `afterRelease`). */
  private releaseWaiters: Array<() => void> = [];
  private previousNext: Promise<unknown> = Promise.resolve();
  /** A chunk (or the end) reached the consumer: the call can no longer be started again elsewhere. */
  private delivered = false;

  [Symbol.asyncIterator](): AsyncIterableIterator<Chunk> {
    return this;
  }

  next(): Promise<IteratorResult<Chunk>> {
    // Overlapping next() calls (never from for-await) are served one after another.
    if (this.pending !== undefined) {
      const queued = this.previousNext.then(
        () => this.next(),
        () => this.next(),
      );
      this.previousNext = queued;
      return queued;
    }
    if (this.undelivered !== undefined) {
      const error = this.undelivered;
      this.undelivered = undefined;
      this.finished = true;
      return Promise.reject(error);
    }
    if (this.finished || this.state === 'settled') return this.afterRelease(done);
    const result = new Promise<IteratorResult<Chunk>>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    this.previousNext = result;
    if (this.state === 'created') {
      this.host.admit(this);
    } else if (this.inner !== undefined && this.innerNext === undefined) {
      this.pull();
    }
    return result;
  }

  return(value?: unknown): Promise<IteratorResult<Chunk>> {
    this.stopByConsumer();
    return this.afterRelease({ done: true, value } as IteratorResult<Chunk>);
  }

  throw(error?: unknown): Promise<IteratorResult<Chunk>> {
    this.stopByConsumer();
    return this.afterRelease(undefined).then(() => Promise.reject(error));
  }

  protected run(worker: AdapterWorkerV1, context: CallContext, slot: WorkerSlot): void {
    this.slot = slot;
    try {
      this.inner = worker.doStream(this.request, context)[Symbol.asyncIterator]();
    } catch (error) {
      const failure = toSnakepitError(error, 'stream');
      // Settle on a later tick, like every other adapter outcome, so release never re-enters dispatch.
      queueMicrotask(() => {
        // Refused before it started (as ExecuteCall treats a doExecute that throws): put back.
        if (this.state === 'running' && this.slot === slot) {
          this.slot = undefined;
          this.inner = undefined;
          if (this.returnAfterRefusal(slot, failure)) return;
          this.slot = slot;
        }
        this.fail(failure);
        this.releaseOnce(failure);
      });
      return;
    }
    if (this.pending !== undefined) this.pull();
  }

  protected deliverError(error: SnakepitError): void {
    if (this.finished) return;
    const pending = this.pending;
    if (pending !== undefined) {
      this.pending = undefined;
      this.finished = true;
      pending.reject(error);
    } else {
      this.undelivered = error;
    }
  }

  protected afterRunningFailure(): void {
    this.closeInner();
  }

  private pull(): void {
    const inner = this.inner!;
    let next: Promise<IteratorResult<Chunk>>;
    try {
      next = inner.next();
    } catch (error) {
      next = Promise.reject(error);
    }
    this.innerNext = next;
    next.then(
      (result) => {
        this.innerNext = undefined;
        if (this.state !== 'running') return; // Ended from outside; closeInner() releases the worker.
        if (result.done) {
          this.succeed(false);
          this.releaseOnce(undefined);
          this.finished = true;
          this.deliver(done);
          return;
        }
        const chunk = result.value;
        if (chunk.is_final) {
          this.succeed(false);
          // Let the adapter's iterator run to completion before its worker takes another call.
          this.closeInner();
          this.deliver({ done: false, value: chunk });
          this.finished = true;
          return;
        }
        this.deliver({ done: false, value: chunk });
      },
      (error: unknown) => {
        this.innerNext = undefined;
        const failure = toSnakepitError(error, 'stream');
        if (!this.delivered && this.state === 'running' && this.slot !== undefined) {
          // Refused before its first chunk: the next worker starts it afresh.
          const slot = this.slot;
          this.slot = undefined;
          this.inner = undefined;
          if (this.returnAfterRefusal(slot, failure)) return;
          this.slot = slot;
        }
        if (this.state === 'running') {
          // The iterator threw, so it is finished: no return() needed.
          this.closing = true;
          this.fail(failure);
          this.releaseOnce(failure);
        } else if (!this.closing) {
          this.releaseOnce(failure);
        }
      },
    );
  }

  private deliver(result: IteratorResult<Chunk>): void {
    this.delivered = true;
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(result);
  }

  private stopByConsumer(): void {
    this.finished = true;
    this.undelivered = undefined;
    this.deliver(done);
    if (this.state === 'created') {
      // Never scheduled: nothing to cancel.
      this.state = 'settled';
    } else if (this.state === 'queued') {
      this.fail(errors.aborted(this.tool, 'the consumer stopped the stream'));
    } else if (this.state === 'running') {
      this.succeed(true);
      this.controller!.abort(errors.aborted(this.tool, 'the consumer stopped the stream'));
      this.closeInner();
    }
  }

  /** Asks the adapter's iterator to finish and releases the worker once it did. */
  private closeInner(): void {
    if (this.closing || this.inner === undefined) {
      this.closing = true;
      return;
    }
    this.closing = true;
    const inner = this.inner;
    let returned: Promise<unknown>;
    try {
      returned = Promise.resolve(inner.return?.());
    } catch (error) {
      returned = Promise.reject(error);
    }
    void Promise.allSettled([this.innerNext, returned]).then(() => this.releaseOnce(undefined));
  }

  private releaseOnce(error: SnakepitError | undefined): void {
    if (this.released || this.slot === undefined) return;
    this.released = true;
    this.host.scheduler.release(this.slot, this, error);
    for (const wake of this.releaseWaiters.splice(0)) wake();
  }

  /**
   * Resolves with `result` once the worker is released, so that when a consumer sees its stream
   * end the pool agrees: `stats()` right after the loop shows the worker idle, not `busy: 1` with
   * `inFlight: 0` while the adapter's iterator winds down.
   */
  private afterRelease<T>(result: T): Promise<T> {
    if (this.released || this.slot === undefined) return Promise.resolve(result);
    return new Promise<T>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(result);
      };
      const timer = setTimeout(() => {
        this.releaseWaiters = this.releaseWaiters.filter((waiter) => waiter !== wake);
        resolve(result);
      }, releaseWaitMs);
      this.releaseWaiters.push(wake);
    });
  }
}

