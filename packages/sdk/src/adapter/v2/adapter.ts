/**
 * Adapter spec v2: an adapter whose set of workers changes while the pool runs — a fleet of worker
 * servers on other hosts, found by configuration or by DNS. Where a v1 adapter is asked for
 * `size` identical workers, a v2 adapter reports *seats*: named places a worker can be started
 * (for a fleet, one per endpoint), and every change to that set. The pool keeps one worker per
 * seat (starting, replacing with backoff, heartbeats, draining) exactly as it keeps its v1 seats;
 * a seat that disappears leaves the pool once its calls in flight have finished.
 *
 * Seat keys are stable names of places ("10.0.0.7:50051"), the same in every Node process that
 * sees the same fleet: the pool places a session on the seat that ranks highest for it by
 * rendezvous hashing of the session id over the keys, so every process picks the same worker.
 *
 * Workers are the same `AdapterWorkerV1` as in v1. The pool accepts v1 and v2 adapters alike.
 */
import type { AdapterWorkerV1, WorkerStartContext } from '../v1/adapter.js';

export interface AdapterV2 {
  readonly specificationVersion: 'v2';
  /** Short name for logs, e.g. "python-remote". */
  readonly name: string;
  /**
   * Whether workers call the pool's host bridge server at `hostAddress` (as v1 workers do). False:
   * they send host requests on the connection the pool opened (`WorkerStartContext.hostRequests`),
   * and the pool opens no port.
   */
  readonly usesHostBridge: boolean;
  /**
   * Starts reporting the seats: `context.update(keys)` with the whole current set, as soon as it
   * is known and again whenever it changes, until `context.signal` aborts. Called once, when the
   * pool starts. Failures to learn the set (a DNS outage) are the adapter's to log and retry; the
   * last set reported stays in force meanwhile.
   */
  doWatchSeats(context: SeatWatchContext): void;
  /** Starts the worker of one seat (`context.seat`) and resolves once it is ready to take calls. */
  doStartWorker(context: SeatStartContext): Promise<AdapterWorkerV1>;
}

export interface SeatWatchContext {
  /** Fires when the pool closes: stop watching. */
  signal: AbortSignal;
  /** The whole current set of seat keys (non-empty strings; duplicates are ignored). */
  update(seats: readonly string[]): void;
  /** Something the pool's logger should hear (a failed re-resolution, say). */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

export interface SeatStartContext extends WorkerStartContext {
  /** The seat this worker fills, one of the keys last reported. */
  seat: string;
}
