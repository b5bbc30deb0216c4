/**
 * The pool's record of one worker, from the moment it is spawned until its process is gone: its
 * state, the calls whose adapter call has not settled yet (its load), its sessions and its timers.
 */
import type { AdapterWorkerV1 } from '../adapter/v1/adapter.js';
import type { Logger } from '../observability/logging.js';
import type { Backoff } from './restart-backoff.js';
import type { PoolCall } from '../pool/pool-call.js';
import { rendezvousKeyHash, type RendezvousCandidate } from '../pool/rendezvous.js';

export type WorkerState = 'starting' | 'ready' | 'draining' | 'stopping';

export interface WorkerInfo {
  id: string;
  pid: number | undefined;
  state: WorkerState;
  /** Calls running on it now (a cancelled call counts until the worker confirmed it stopped). */
  load: number;
  capacity: number;
  callsServed: number;
  /** When it was spawned (ms since epoch). */
  startedAt: number;
  /** Sessions currently pinned to it. */
  sessions: number;
  /** The seat it fills when its adapter names seats (spec v2), e.g. the endpoint "host:port". */
  seat?: string;
  /**
   * What the worker reported about itself once ready, as the adapter passes it on (for Python:
   * `mode`, `python_version`, `free_threaded`, `grpcio_version`, ...); empty while it starts.
   */
  info: Readonly<Record<string, unknown>>;
}

/**
 * A position the pool keeps filled: when its worker crashes or is recycled, the replacement takes
 * the same seat, and the seat's backoff remembers how often that went wrong lately.
 */
export interface Seat {
  readonly index: number;
  /** The seat's name when its adapter reports seats (spec v2), e.g. an endpoint "host:port". */
  readonly key: string | undefined;
  /** Its adapter no longer reports it: its worker drains and leaves, and nothing restarts it. */
  retired: boolean;
  readonly backoff: Backoff;
  current: WorkerSlot | undefined;
  /** True from a failed start until a worker of this seat becomes ready. */
  lastAttemptFailed: boolean;
  restartTimer: NodeJS.Timeout | undefined;
}

export class WorkerSlot implements RendezvousCandidate {
  state: WorkerState = 'starting';
  worker: AdapterWorkerV1 | undefined;
  /** Calls whose adapter call has not settled yet: its load. */
  readonly calls = new Set<PoolCall>();
  readonly sessions = new Set<string>();
  readonly startedAt = Date.now();
  readonly startAbort = new AbortController();
  readyAt = 0;
  callsServed = 0;
  /** Dispatch sequence of the last call it got; the lowest wins ties, which spreads calls. */
  lastDispatch = 0;
  /** The pool asked it to stop: its exit is expected. */
  stopRequested = false;
  unresponsive = false;
  /** The worker itself said it takes no new calls (`AdapterWorkerV1.draining`). */
  announcedDrain = false;
  exited = false;
  missedHeartbeats = 0;
  heartbeatTimer: NodeJS.Timeout | undefined;
  ttlTimer: NodeJS.Timeout | undefined;
  backoffResetTimer: NodeJS.Timeout | undefined;
  /** Settles when the start attempt is over, whatever its outcome. */
  startAttempt: Promise<void> | undefined;
  /** Logger bound to this worker's id, for the lines the worker writes. */
  log: Logger | undefined;
  /** Refusals in a row (a shared remote worker without room); the scheduler's pause grows with them. */
  refusals = 0;
  /** Set while the worker pauses after a refusal: it takes no call meanwhile. */
  pauseTimer: NodeJS.Timeout | undefined;
  readonly rendezvousKey: string;
  readonly rendezvousKeyHash: number;
  private workerCapacity = 0;

  constructor(
    readonly id: string,
    readonly seat: Seat,
  ) {
    this.rendezvousKey = seat.key ?? id;
    this.rendezvousKeyHash = rendezvousKeyHash(this.rendezvousKey);
  }

  get pid(): number | undefined {
    return this.worker?.pid;
  }

  get load(): number {
    return this.calls.size;
  }

  get capacity(): number {
    return this.workerCapacity;
  }

  attach(worker: AdapterWorkerV1): void {
    this.worker = worker;
    const reported = Math.floor(Number(worker.capacity));
    this.workerCapacity = Number.isFinite(reported) && reported >= 1 ? reported : 1;
    this.state = 'ready';
    this.readyAt = Date.now();
  }

  hasFreeCapacity(): boolean {
    return this.state === 'ready' && !this.exited && this.calls.size < this.workerCapacity && this.pauseTimer === undefined;
  }

  clearTimers(): void {
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.ttlTimer);
    clearTimeout(this.backoffResetTimer);
    clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    this.heartbeatTimer = undefined;
    this.ttlTimer = undefined;
    this.backoffResetTimer = undefined;
  }

  describe(): WorkerInfo {
    return {
      id: this.id,
      pid: this.pid,
      state: this.state,
      load: this.calls.size,
      capacity: this.workerCapacity,
      callsServed: this.callsServed,
      startedAt: this.startedAt,
      sessions: this.sessions.size,
      ...(this.seat.key !== undefined ? { seat: this.seat.key } : {}),
      info: this.worker?.info ?? {},
    };
  }
}
