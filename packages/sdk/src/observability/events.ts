/**
 * The pool's typed events. Emitting sits on the per-call path, so callers check `has(event)` before
 * building a payload: with nobody listening an event costs one property read. A listener that throws
 * (or returns a rejected promise) is logged and never disturbs the pool.
 */
import type { SnakepitError, SnakepitErrorCode } from '../errors.js';
import type { Logger } from './logging.js';

interface CallIdentity {
  callId: number;
  correlationId: string;
  tool: string;
  sessionId?: string;
}

export interface CallStartEvent extends CallIdentity {
  workerId: string;
  /** Time from submission to dispatch. */
  waitMs: number;
}

export interface CallEndEvent extends CallIdentity {
  workerId: string;
  waitMs: number;
  /** Time from dispatch to the result (or the stream's end). */
  durationMs: number;
  /** True when a stream's consumer stopped it early (break, return, or 'halt'). */
  halted: boolean;
}

export interface CallErrorEvent extends CallIdentity {
  /** Absent when the call failed before reaching a worker. */
  workerId?: string;
  waitMs: number;
  /** Time on the worker, when the call reached one. */
  durationMs?: number;
  code: SnakepitErrorCode;
  error: SnakepitError;
}

export type QueueLeaveReason = 'dispatched' | 'timeout' | 'aborted' | 'closed' | 'startup_failed' | 'worker_busy';

export interface PoolEvents {
  'call:start': CallStartEvent;
  'call:end': CallEndEvent;
  'call:error': CallErrorEvent;
  /** A worker shared with other pools had no room and refused the call before running it; the pool puts it back. */
  'call:refused': CallIdentity & { workerId: string; reason: string };
  'queue:enter': { callId: number; correlationId: string; queueLength: number };
  'queue:leave': { callId: number; correlationId: string; waitMs: number; reason: QueueLeaveReason };
  'worker:spawn': { workerId: string };
  'worker:ready': { workerId: string; pid: number | undefined; capacity: number; startMs: number };
  'worker:exit': {
    workerId: string;
    pid: number | undefined;
    code: number | null;
    signal: string | null;
    /** False for a crash; true when the pool stopped it (recycling, hang, close). */
    expected: boolean;
  };
  'worker:recycle': { workerId: string; reason: 'max_requests' | 'ttl' };
  'worker:unresponsive': { workerId: string; pid: number | undefined; missedHeartbeats: number };
  'worker:startup_failed': { workerId: string; error: SnakepitError };
  'pool:saturated': { queueLength: number; maxQueue: number };
  heartbeat: { workerId: string; ok: boolean; latencyMs: number };
}

export type PoolEventName = keyof PoolEvents;
export type PoolEventListener<E extends PoolEventName> = (event: PoolEvents[E]) => unknown;

type AnyListener = (event: unknown) => unknown;

interface OnceWrapper extends AnyListener {
  original: AnyListener;
}

export class PoolEventEmitter {
  // Arrays are replaced, never mutated, so a listener that unsubscribes during an emit is safe.
  private readonly listeners: { [E in PoolEventName]?: readonly AnyListener[] } = {};

  constructor(private readonly logger: Logger) {}

  has(event: PoolEventName): boolean {
    return this.listeners[event] !== undefined;
  }

  on<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    this.listeners[event] = [...(this.listeners[event] ?? []), listener as AnyListener];
  }

  once<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): void {
    const wrapper = ((payload: unknown) => {
      this.remove(event, wrapper);
      return (listener as AnyListener)(payload);
    }) as OnceWrapper;
    wrapper.original = listener as AnyListener;
    this.on(event, wrapper as PoolEventListener<E>);
  }

  off<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): void {
    const current = this.listeners[event];
    if (current === undefined) return;
    const target =
      current.find((candidate) => candidate === listener) ??
      current.find((candidate) => (candidate as Partial<OnceWrapper>).original === listener);
    if (target !== undefined) this.remove(event, target);
  }

  emit<E extends PoolEventName>(event: E, payload: PoolEvents[E]): void {
    const current = this.listeners[event];
    if (current === undefined) return;
    for (const listener of current) {
      try {
        const result = listener(payload);
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
          (result as PromiseLike<unknown>).then(undefined, (error: unknown) => this.listenerFailed(event, error));
        }
      } catch (error) {
        this.listenerFailed(event, error);
      }
    }
  }

  private remove(event: PoolEventName, listener: AnyListener): void {
    const remaining = (this.listeners[event] ?? []).filter((candidate) => candidate !== listener);
    if (remaining.length === 0) delete this.listeners[event];
    else this.listeners[event] = remaining;
  }

  private listenerFailed(event: PoolEventName, error: unknown): void {
    try {
      this.logger.error({ event, error }, 'a pool event listener threw');
    } catch {
      // A broken logger must not break the pool either.
    }
  }
}
