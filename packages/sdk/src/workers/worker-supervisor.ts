/**
 * Keeps one worker alive per seat: starts them (at most `startupConcurrency` at once), replaces
 * those that crash, hang or fail to start (with per-seat backoff, so a broken worker never makes
 * the pool spin), recycles them after `maxRequestsPerWorker` calls or `workerTtlMs` (draining
 * first: a call in flight is never cut off), and stops them all on close.
 *
 * A v1 adapter gets `size` seats. A v2 adapter reports its seats and their changes
 * (adapter/v2/adapter.ts): a new seat gets a worker at once; a seat no longer reported is retired —
 * its worker takes no new calls, finishes those in flight and is stopped, and is never restarted.
 */
import type { AdapterWorkerV1, WorkerExitInfo, WorkerLogRecord, WorkerStartContext } from '../adapter/v1/adapter.js';
import type { HostRequestHandler } from '../bridge/host-requests.js';
import { errors, SnakepitError } from '../errors.js';
import type { Logger } from '../observability/logging.js';
import type { PoolMetrics } from '../observability/metrics.js';
import { Backoff } from './restart-backoff.js';
import type { PoolEventEmitter } from '../observability/events.js';
import { HeartbeatMonitor } from './heartbeat.js';
import type { ResolvedPoolOptions } from '../pool/options.js';
import type { OrphanRegistry } from './orphan-registry.js';
import type { Scheduler, WorkerEvents } from '../pool/scheduler.js';
import type { WorkerLogForwarder } from '../observability/worker-log-forwarder.js';
import { WorkerSlot, type Seat } from './worker-slot.js';

export interface SupervisorHost {
  readonly options: ResolvedPoolOptions;
  readonly events: PoolEventEmitter;
  readonly metrics: PoolMetrics;
  readonly logger: Logger;
  /** Where the lines workers write are scrubbed and logged. */
  readonly workerLines: WorkerLogForwarder;
  readonly scheduler: Scheduler;
  readonly registry: OrphanRegistry;
  /** The per-pool secret every worker requires. */
  readonly token: string;
  /** The host bridge address workers call back; workers start once it is known. */
  readonly hostAddress: Promise<string | undefined>;
  /** Serves the host requests workers send on their call channel. */
  readonly hostRequests: HostRequestHandler;
  /** A worker became ready, failed to start, or exited. */
  readinessChanged(): void;
  /** A worker is gone for good: forget what it reported about itself. */
  workerGone(workerId: string): void;
}

/** How long a recycled worker gets to finish cleanly once it is idle. */
const recycleGraceMs = 2_000;
/** Adapters enforce startupTimeoutMs with a better error; the pool's own bound is a backstop. */
const startupTimeoutMarginMs = 1_000;

type StartOutcome = { worker: AdapterWorkerV1 } | { error: SnakepitError };

function asStartupError(workerId: string, error: unknown): SnakepitError {
  if (SnakepitError.hasCode(error, 'startup_failed')) return error;
  const text = error instanceof Error ? error.message : String(error);
  return errors.startupFailed(`worker ${workerId} failed to start: ${text}`, { cause: error, details: { workerId } });
}

function newSeat(index: number, key: string | undefined, options: ResolvedPoolOptions): Seat {
  return { index, key, retired: false, backoff: new Backoff(options.restartBackoff), current: undefined, lastAttemptFailed: false, restartTimer: undefined };
}

export class WorkerSupervisor implements WorkerEvents {
  readonly slots = new Set<WorkerSlot>();
  private readonly seats: Seat[];
  private seatNumber = 0;
  /** Stops a v2 adapter's seat reports on close. */
  private readonly seatWatch = new AbortController();
  private readonly heartbeat: HeartbeatMonitor;
  private workerNumber = 0;
  private startsRunning = 0;
  private readonly startWaiters: Array<() => void> = [];
  private closed = false;
  private lastStartError: SnakepitError | undefined;

  constructor(private readonly host: SupervisorHost) {
    const { options } = host;
    this.seats = Array.from({ length: options.size }, () => newSeat(this.seatNumber++, undefined, options));
    this.heartbeat = new HeartbeatMonitor(options.heartbeat, host.events, (slot, missed) => this.unresponsive(slot, missed));
    host.scheduler.attachWorkers(this);
  }

  start(): void {
    for (const seat of this.seats) this.spawn(seat);
    const adapter = this.host.options.adapter;
    if (adapter.specificationVersion !== 'v2') return;
    const logger = this.host.logger;
    try {
      adapter.doWatchSeats({
        signal: this.seatWatch.signal,
        update: (keys) => this.updateSeats(keys),
        log: (level, message, fields) => logger[level]({ adapter: adapter.name, ...fields }, message),
      });
    } catch (error) {
      logger.error({ adapter: adapter.name, error }, 'the adapter failed to report its workers');
    }
  }

  /** The error to report while no worker is ready and every seat's latest start failed. */
  startupFailure(): SnakepitError | undefined {
    if (this.lastStartError === undefined || this.host.scheduler.readyWorkers.length > 0) return undefined;
    if (this.seats.length === 0) return undefined;
    return this.seats.every((seat) => seat.lastAttemptFailed) ? this.lastStartError : undefined;
  }

  /** A v2 adapter reported its seats: new ones get a worker, missing ones retire. */
  private updateSeats(keys: readonly string[]): void {
    if (this.closed) return;
    const wanted = new Set(Array.isArray(keys) ? keys.filter((key) => typeof key === 'string' && key !== '') : []);
    for (const seat of [...this.seats]) {
      if (!wanted.delete(seat.key!)) this.retire(seat);
    }
    for (const key of wanted) {
      const seat = newSeat(this.seatNumber++, key, this.host.options);
      this.seats.push(seat);
      this.host.logger.info({ seat: key }, 'worker seat added');
      this.spawn(seat);
    }
    this.host.readinessChanged();
  }

  private retire(seat: Seat): void {
    this.seats.splice(this.seats.indexOf(seat), 1);
    seat.retired = true;
    clearTimeout(seat.restartTimer);
    seat.restartTimer = undefined;
    const slot = seat.current;
    seat.current = undefined;
    this.host.logger.info({ seat: seat.key, workerId: slot?.id }, 'worker seat removed');
    if (slot === undefined) return;
    if (slot.state === 'starting') {
      slot.startAbort.abort(errors.startupFailed(`seat ${seat.key} was removed while its worker started`));
    } else if (slot.state === 'ready') {
      slot.state = 'draining';
      slot.clearTimers();
      this.host.scheduler.removeReady(slot);
      if (slot.calls.size === 0) this.stop(slot, recycleGraceMs);
    }
  }

  /** Counts a dispatched call toward `maxRequestsPerWorker`. */
  dispatched(slot: WorkerSlot): void {
    if (slot.callsServed >= this.host.options.maxRequestsPerWorker) this.recycle(slot, 'max_requests');
  }

  drained(slot: WorkerSlot): void {
    this.stop(slot, recycleGraceMs);
  }

  /** The worker announced that it takes no new calls: it drains, and its seat gets a new worker after the backoff. */
  workerDraining(slot: WorkerSlot): void {
    if (slot.state !== 'ready') return;
    slot.state = 'draining';
    slot.announcedDrain = true;
    slot.clearTimers();
    this.host.scheduler.removeReady(slot);
    this.host.logger.info({ workerId: slot.id, seat: slot.seat.key, calls: slot.calls.size }, 'worker is draining; its calls in flight finish');
    if (!this.closed && slot.seat.current === slot) this.scheduleRestart(slot.seat);
    if (slot.calls.size === 0) this.stop(slot, recycleGraceMs);
    this.host.readinessChanged();
  }

  /** The adapter reported the worker dead before its exit was seen: stop routing to it, make sure it is gone. */
  workerReportedDead(slot: WorkerSlot): void {
    if (slot.state !== 'ready') return;
    slot.state = 'stopping';
    this.host.scheduler.removeReady(slot);
    this.host.logger.warn({ workerId: slot.id }, 'worker reported dead by its adapter');
    this.stopProcess(slot, 0);
  }

  /** Stops starting and restarting workers; the first step of close. */
  beginClose(): void {
    this.closed = true;
    this.seatWatch.abort(errors.poolClosed());
    for (const seat of this.seats) {
      clearTimeout(seat.restartTimer);
      seat.restartTimer = undefined;
    }
    const waiters = this.startWaiters.splice(0);
    this.startsRunning += waiters.length;
    for (const slot of this.slots) {
      slot.clearTimers();
      if (slot.state === 'starting') slot.startAbort.abort(errors.poolClosed());
    }
    for (const wake of waiters) wake();
  }

  /** Stops every worker (graceful for `graceMs`, then forced); resolves once all are gone. */
  async stopAll(graceMs: number): Promise<void> {
    await Promise.allSettled(
      [...this.slots].map(async (slot) => {
        if (slot.state === 'starting') await slot.startAttempt;
        if (slot.worker === undefined || slot.exited) return;
        this.stop(slot, graceMs);
        await slot.worker.exited;
      }),
    );
  }

  /** Fails every call still running on any worker (close: force, or drain time is up). */
  failRunningCalls(error: () => SnakepitError): void {
    for (const slot of this.slots) {
      for (const call of [...slot.calls]) call.fail(error());
    }
  }

  /** Workers whose exit was not seen yet (for the close report). */
  remaining(): string[] {
    return [...this.slots].map((slot) => slot.id);
  }

  private spawn(seat: Seat): void {
    const slot = new WorkerSlot(`w${++this.workerNumber}`, seat);
    seat.current = slot;
    this.slots.add(slot);
    const events = this.host.events;
    if (events.has('worker:spawn')) events.emit('worker:spawn', { workerId: slot.id });
    slot.startAttempt = this.startWorker(slot).catch((error: unknown) =>
      this.host.logger.error({ workerId: slot.id, error }, 'unexpected failure while starting a worker'),
    );
  }

  private async startWorker(slot: WorkerSlot): Promise<void> {
    const startedAt = performance.now();
    await this.acquireStartPermit();
    let outcome: StartOutcome;
    try {
      outcome = await this.attemptStart(slot);
    } catch (error) {
      outcome = { error: asStartupError(slot.id, error) };
    } finally {
      this.releaseStartPermit();
    }
    if ('error' in outcome) this.startFailed(slot, outcome.error);
    else this.started(slot, outcome.worker, performance.now() - startedAt);
  }

  private async attemptStart(slot: WorkerSlot): Promise<StartOutcome> {
    const { options, token } = this.host;
    const signal = slot.startAbort.signal;
    const hostAddress = await this.host.hostAddress;
    if (signal.aborted) return { error: asStartupError(slot.id, signal.reason) };
    const context: WorkerStartContext = {
      workerId: slot.id,
      token,
      ...(hostAddress !== undefined ? { hostAddress } : {}),
      hostRequests: this.host.hostRequests,
      heartbeat: options.heartbeat,
      signal,
      startupTimeoutMs: options.startupTimeoutMs,
      dataDir: options.dataDir,
      onLog: (record) => this.workerLog(slot, record),
    };
    let starting: Promise<AdapterWorkerV1>;
    try {
      const adapter = options.adapter;
      const seat = slot.seat.key;
      starting = Promise.resolve(
        adapter.specificationVersion === 'v2' ? adapter.doStartWorker({ ...context, seat: seat! }) : adapter.doStartWorker(context),
      );
    } catch (error) {
      starting = Promise.reject(error);
    }
    return new Promise<StartOutcome>((resolve) => {
      let gaveUp = false;
      const timer = setTimeout(() => {
        gaveUp = true;
        const error = errors.startupFailed(`worker ${slot.id} did not become ready within ${options.startupTimeoutMs} ms`, {
          details: { workerId: slot.id },
        });
        slot.startAbort.abort(error);
        resolve({ error });
      }, options.startupTimeoutMs + startupTimeoutMarginMs);
      starting.then(
        (worker) => {
          clearTimeout(timer);
          if (gaveUp) this.stopLateWorker(worker);
          else resolve({ worker });
        },
        (error: unknown) => {
          clearTimeout(timer);
          resolve({ error: asStartupError(slot.id, error) });
        },
      );
    });
  }

  private startFailed(slot: WorkerSlot, error: SnakepitError): void {
    this.slots.delete(slot);
    const seat = slot.seat;
    if (this.closed || seat.current !== slot) return;
    const events = this.host.events;
    if (events.has('worker:startup_failed')) events.emit('worker:startup_failed', { workerId: slot.id, error });
    this.host.logger.warn({ workerId: slot.id, error }, 'worker failed to start');
    seat.lastAttemptFailed = true;
    this.lastStartError = error;
    this.scheduleRestart(seat);
    this.host.readinessChanged();
  }

  private started(slot: WorkerSlot, worker: AdapterWorkerV1, startMs: number): void {
    const { options, events, registry, scheduler } = this.host;
    slot.attach(worker);
    worker.exited.then(
      (exit) => this.exited(slot, exit),
      () => this.exited(slot, { code: null, signal: null }),
    );
    registry.add(slot.id, worker.pid);
    const seat = slot.seat;
    if (this.closed || seat.current !== slot) {
      this.stop(slot, 0);
      return;
    }
    seat.lastAttemptFailed = false;
    if (events.has('worker:ready')) {
      events.emit('worker:ready', { workerId: slot.id, pid: worker.pid, capacity: slot.capacity, startMs });
    }
    this.host.logger.debug({ workerId: slot.id, pid: worker.pid, startMs }, 'worker ready');
    worker.draining?.then(
      () => this.workerDraining(slot),
      () => {},
    );
    this.heartbeat.watch(slot);
    if (Number.isFinite(options.workerTtlMs)) {
      slot.ttlTimer = setTimeout(() => this.recycle(slot, 'ttl'), options.workerTtlMs);
      slot.ttlTimer.unref();
    }
    slot.backoffResetTimer = setTimeout(() => seat.backoff.reset(), options.restartBackoff.resetAfterMs);
    slot.backoffResetTimer.unref();
    scheduler.addReady(slot);
    this.host.readinessChanged();
  }

  private exited(slot: WorkerSlot, exit: WorkerExitInfo): void {
    if (slot.exited) return;
    slot.exited = true;
    this.host.workerGone(slot.id);
    // Never routable again, whatever settles on it later.
    slot.state = 'stopping';
    slot.clearTimers();
    this.slots.delete(slot);
    this.host.registry.remove(slot.id);
    this.host.scheduler.removeReady(slot);
    const expected = slot.stopRequested;
    const events = this.host.events;
    if (events.has('worker:exit')) {
      events.emit('worker:exit', { workerId: slot.id, pid: slot.pid, code: exit.code, signal: exit.signal, expected });
    }
    if (!expected) this.host.logger.warn({ workerId: slot.id, pid: slot.pid, ...exit }, 'worker exited unexpectedly');
    // The adapter usually fails these itself; the pool does not rely on it (each call fails once).
    if (slot.calls.size > 0) {
      const error = slot.unresponsive ? errors.workerUnresponsive(slot.id, slot.missedHeartbeats) : errors.workerExit(slot.id, exit);
      for (const call of [...slot.calls]) call.fail(error);
    }
    const seat = slot.seat;
    if (!this.closed && seat.current === slot) this.scheduleRestart(seat);
    this.host.readinessChanged();
  }

  private unresponsive(slot: WorkerSlot, missedHeartbeats: number): void {
    if (slot.exited || slot.stopRequested) return;
    slot.unresponsive = true;
    const events = this.host.events;
    if (events.has('worker:unresponsive')) {
      events.emit('worker:unresponsive', { workerId: slot.id, pid: slot.pid, missedHeartbeats });
    }
    this.host.logger.error({ workerId: slot.id, pid: slot.pid, missedHeartbeats }, 'worker is unresponsive; replacing it');
    const seat = slot.seat;
    if (!this.closed && seat.current === slot) this.scheduleRestart(seat);
    this.stop(slot, 0);
    const error = errors.workerUnresponsive(slot.id, missedHeartbeats);
    for (const call of [...slot.calls]) call.fail(error);
  }

  private recycle(slot: WorkerSlot, reason: 'max_requests' | 'ttl'): void {
    if (this.closed || slot.state !== 'ready') return;
    slot.state = 'draining';
    clearTimeout(slot.ttlTimer);
    this.host.scheduler.removeReady(slot);
    this.host.metrics.counters.recycled += 1;
    const events = this.host.events;
    if (events.has('worker:recycle')) events.emit('worker:recycle', { workerId: slot.id, reason });
    this.host.logger.info({ workerId: slot.id, reason, callsServed: slot.callsServed }, 'recycling worker');
    // The replacement takes the seat at once; the old worker finishes its calls meanwhile.
    if (slot.seat.current === slot) this.spawn(slot.seat);
    if (slot.calls.size === 0) this.stop(slot, recycleGraceMs);
  }

  private scheduleRestart(seat: Seat): void {
    seat.current = undefined;
    const delay = seat.backoff.next();
    seat.restartTimer = setTimeout(() => {
      seat.restartTimer = undefined;
      if (this.closed) return;
      this.host.metrics.counters.restarts += 1;
      this.spawn(seat);
    }, delay);
    seat.restartTimer.unref();
  }

  /** Stops routing to a worker and asks its adapter to stop it; the exit arrives through `exited`. */
  private stop(slot: WorkerSlot, graceMs: number): void {
    if (slot.stopRequested) return;
    slot.stopRequested = true;
    const wasReady = slot.state === 'ready';
    slot.state = 'stopping';
    slot.clearTimers();
    if (wasReady) this.host.scheduler.removeReady(slot);
    this.stopProcess(slot, graceMs);
  }

  private stopProcess(slot: WorkerSlot, graceMs: number): void {
    const worker = slot.worker;
    if (worker === undefined) {
      slot.startAbort.abort(errors.poolClosed());
      return;
    }
    try {
      Promise.resolve(worker.doStop({ graceMs })).catch((error: unknown) =>
        this.host.logger.warn({ workerId: slot.id, error }, 'worker did not stop cleanly'),
      );
    } catch (error) {
      this.host.logger.warn({ workerId: slot.id, error }, 'worker did not stop cleanly');
    }
  }

  private stopLateWorker(worker: AdapterWorkerV1): void {
    try {
      Promise.resolve(worker.doStop({ graceMs: 0 })).catch((error: unknown) =>
        this.host.logger.warn({ workerId: worker.id, error }, 'could not stop a worker that started too late'),
      );
    } catch (error) {
      this.host.logger.warn({ workerId: worker.id, error }, 'could not stop a worker that started too late');
    }
  }

  private async acquireStartPermit(): Promise<void> {
    if (this.closed || this.startsRunning < this.host.options.startupConcurrency) {
      this.startsRunning += 1;
      return;
    }
    // The finishing start hands its permit over, so the count stays as it is.
    await new Promise<void>((resolve) => this.startWaiters.push(resolve));
  }

  private releaseStartPermit(): void {
    const next = this.startWaiters.shift();
    if (next !== undefined) next();
    else this.startsRunning -= 1;
  }

  private workerLog(slot: WorkerSlot, record: WorkerLogRecord): void {
    const lines = this.host.workerLines;
    if (!lines.enabled) return;
    try {
      lines.log((slot.log ??= lines.forWorker(slot.id)), record);
    } catch {
      // A logger that throws must not break a worker's output pipe.
    }
  }
}
