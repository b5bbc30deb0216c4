/**
 * `createPool`: the public face of the pool. It validates and encodes each call before anything is
 * queued, hands it to the scheduler, and owns the pool's lifecycle (readiness, stats, close).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { CallRequest } from '../adapter/v1/adapter.js';
import { errors, type SnakepitError } from '../errors.js';
import { createSafeLogger, guardLogger, type Logger } from '../observability/logging.js';
import { encodeArguments } from '../wire/arguments.js';
import { PoolMetrics } from '../observability/metrics.js';
import { createCallTracer, installedOpenTelemetryApi } from '../observability/tracing.js';
import type { CallOptions } from './call-options.js';
import type { Chunk } from '../wire/chunk.js';
import type { ToolArguments } from '../wire/arguments.js';
import { ExecuteCall } from './execute-call.js';
import { toSnakepitError, type CallHost, type CallPlan, type PoolCall } from './pool-call.js';
import { CallRecorder } from '../observability/call-recorder.js';
import { PoolEventEmitter, type PoolEventListener, type PoolEventName } from '../observability/events.js';
import { maxTimerMs, resolveCallOptions, resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options.js';
import { OrphanRegistry, reapOrphans } from '../workers/orphan-registry.js';
import { Scheduler } from './scheduler.js';
import { StreamCall } from './stream-call.js';
import { WorkerLogForwarder } from '../observability/worker-log-forwarder.js';
import { WorkerSupervisor } from '../workers/worker-supervisor.js';
import { HostSide } from '../bridge/host-side.js';
import { createPoolSession, type PoolSession } from '../session/pool-session.js';
import type { SessionStore } from '../session/session-store.js';
import type { HostToolRegistry } from '../tools/host-tool-registry.js';
import type { WorkerInfo } from '../workers/worker-slot.js';
import type { CloseOptions, Pool, PoolStats } from './pool-interface.js';
import { refusedStream, streamForms, type ExecuteStream } from './iterator-or-callback.js';

export type { CloseOptions, Pool, PoolStats } from './pool-interface.js';


export function createPool(options: PoolOptions): Pool {
  return new WorkerPool(resolvePoolOptions(options));
}

function withinMs(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, Math.min(ms, maxTimerMs)));
    void work.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

class WorkerPool implements Pool {
  private readonly logger: Logger;
  private readonly recorder: CallRecorder;
  private readonly events: PoolEventEmitter;
  private readonly metrics = new PoolMetrics();
  private readonly scheduler: Scheduler;
  private readonly supervisor: WorkerSupervisor;
  private readonly registry: OrphanRegistry;
  private readonly callHost: CallHost;
  private readonly host: HostSide;
  private callNumber = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readyWaiters: Array<{ resolve(): void; reject(error: SnakepitError): void }> = [];

  constructor(private readonly options: ResolvedPoolOptions) {
    const logger = createSafeLogger(options.logger);
    this.logger = logger;
    // Resolved once per pool: with tracing off or the API missing, every call skips it.
    const tracer = options.openTelemetry ? createCallTracer(installedOpenTelemetryApi()) : undefined;
    const events = new PoolEventEmitter(logger);
    this.events = events;
    const recorder = new CallRecorder(events, this.metrics, logger, tracer);
    this.recorder = recorder;
    // Before our own workers exist, so a pid of ours is never mistaken for an orphan's.
    reapOrphans(options.dataDir, logger);
    this.registry = new OrphanRegistry(options.dataDir, logger);
    const scheduler = new Scheduler({
      recorder,
      logger,
      maxQueue: options.maxQueue,
      queueTimeoutMs: options.queueTimeoutMs,
      refusal: () => this.refusal(),
    });
    this.scheduler = scheduler;
    this.callHost = { recorder, scheduler, admit: (call) => this.admit(call) };
    const token = randomBytes(32).toString('hex');
    // Workers wait for the bridge's address before starting; shutdown() stops it after the workers.
    this.host = new HostSide({
      hostBridge: options.hostBridge,
      token,
      logger,
      ...(options.sessionStore !== undefined ? { sessionStore: options.sessionStore } : {}),
      ...(options.sessions !== undefined ? { sessions: options.sessions } : {}),
    });
    const hostAddress = this.host.address;
    this.supervisor = new WorkerSupervisor({
      options,
      events,
      metrics: this.metrics,
      logger,
      // Worker lines are scrubbed by WorkerLogForwarder itself, so they skip the redacting wrapper.
      workerLines: new WorkerLogForwarder(guardLogger(options.logger)),
      scheduler,
      registry: this.registry,
      token,
      hostAddress,
      workerGone: (workerId) => this.host.workerGone(workerId),
      readinessChanged: () => this.readinessChanged(),
    });
    // On a later tick, so listeners attached right after createPool see the first spawns.
    queueMicrotask(() => {
      if (!this.closed) this.supervisor.start();
    });
  }

  ready(): Promise<void> {
    if (this.closed) return Promise.reject(errors.poolClosed());
    if (this.scheduler.readyWorkers.length > 0) return Promise.resolve();
    const failure = this.supervisor.startupFailure();
    if (failure !== undefined) return Promise.reject(errors.noWorkerCouldStart(failure));
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  get sessions(): SessionStore {
    return this.host.sessions;
  }

  get tools(): HostToolRegistry {
    return this.host.tools;
  }

  session(sessionId: string): PoolSession {
    return createPoolSession(this, sessionId);
  }

  execute<T = unknown>(tool: string, args?: ToolArguments, options?: CallOptions): Promise<T> {
    let call: ExecuteCall;
    try {
      call = new ExecuteCall(this.callHost, this.plan(tool, args, options, this.options.timeoutMs));
    } catch (error) {
      return Promise.reject(error);
    }
    this.recorder.created(call, args);
    this.admit(call);
    return call.promise as Promise<T>;
  }

  readonly executeStream: ExecuteStream = streamForms<[]>(0, (_, tool, args, options) => this.openStream(tool, args, options));

  executeInSession<T = unknown>(sessionId: string, tool: string, args?: ToolArguments, options?: CallOptions): Promise<T> {
    return this.execute<T>(tool, args, { ...options, sessionId });
  }

  readonly executeInSessionStream: ExecuteStream<[sessionId: string]> = streamForms<[string]>(1, ([sessionId], tool, args, options) =>
    this.openStream(tool, args, { ...options, sessionId }),
  );

  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing !== undefined) {
      // A later forced close cuts short the drain of an earlier graceful one.
      if (options.force === true) this.recorder.idle?.();
      return this.closing;
    }
    let timeoutMs = this.options.shutdownTimeoutMs;
    if (options.timeoutMs !== undefined) {
      if (typeof options.timeoutMs !== 'number' || !(options.timeoutMs > 0) || options.timeoutMs > maxTimerMs) {
        return Promise.reject(errors.invalidParameter('timeoutMs', `must be a number of ms between 1 and ${maxTimerMs}`));
      }
      timeoutMs = options.timeoutMs;
    }
    this.closed = true;
    this.closing = this.shutdown(options.force === true, timeoutMs);
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  stats(): PoolStats {
    let ready = 0;
    let busy = 0;
    let starting = 0;
    for (const slot of this.supervisor.slots) {
      if (slot.state === 'starting') starting += 1;
      else if (slot.state === 'ready') ready += 1;
      if (slot.calls.size > 0) busy += 1;
    }
    return {
      workers: { total: this.supervisor.slots.size, ready, busy, starting },
      queueLength: this.scheduler.queueLength,
      inFlight: this.metrics.inFlight,
      counters: { ...this.metrics.counters },
      runTimeMs: this.metrics.runTime.summary(),
      waitTimeMs: this.metrics.waitTime.summary(),
    };
  }

  listWorkers(): WorkerInfo[] {
    return [...this.supervisor.slots].map((slot) => slot.describe());
  }

  on<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): this {
    this.events.on(event, listener);
    return this;
  }

  off<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): this {
    this.events.off(event, listener);
    return this;
  }

  once<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): this {
    this.events.once(event, listener);
    return this;
  }

  /**
   * Validates the call's options and encodes its arguments once, before anything is queued: a value
   * that cannot travel is refused here, naming the key. Throws the SnakepitError.
   */
  private plan(tool: string, args: ToolArguments | undefined, options: CallOptions | undefined, defaultTimeoutMs: number): CallPlan {
    const resolved = resolveCallOptions(tool, options, { timeoutMs: defaultTimeoutMs, affinity: this.options.affinity });
    const request: CallRequest = {
      tool,
      args: encodeArguments(args),
      correlationId: options?.correlationId ?? randomUUID(),
    };
    if (options?.sessionId !== undefined) request.sessionId = options.sessionId;
    if (options?.metadata !== undefined) request.metadata = options.metadata;
    return { id: ++this.callNumber, request, affinity: resolved.affinity, timeoutMs: resolved.timeoutMs, signal: resolved.signal };
  }

  /** A stream enters the pool lazily, through `admit`, on its first `next()`. */
  private openStream(tool: string, args: ToolArguments | undefined, options: CallOptions | undefined): AsyncIterableIterator<Chunk> {
    let call: StreamCall;
    try {
      call = new StreamCall(this.callHost, this.plan(tool, args, options, this.options.streamTimeoutMs));
    } catch (error) {
      return refusedStream(error as SnakepitError);
    }
    this.recorder.created(call, args);
    return call;
  }

  /**
   * The one door of every call. A session call first makes sure its session exists (idempotent,
   * and it keeps a session in use from expiring), so Python can read and write its state; quotas
   * apply here.
   */
  private admit(call: PoolCall): void {
    this.recorder.submitted(call, call instanceof StreamCall ? 'stream' : 'execute');
    const sessionId = call.sessionId;
    if (sessionId === undefined || this.closed) {
      this.scheduler.submit(call);
      return;
    }
    this.host.sessions.create(sessionId).then(
      () => this.scheduler.submit(call),
      (error: unknown) => call.fail(toSnakepitError(error, 'session')),
    );
  }

  private refusal(): SnakepitError | undefined {
    if (this.closed) return errors.poolClosed();
    const failure = this.supervisor.startupFailure();
    return failure === undefined ? undefined : errors.noWorkerCouldStart(failure);
  }

  private readinessChanged(): void {
    if (this.closed) return;
    if (this.scheduler.readyWorkers.length > 0) {
      for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
      return;
    }
    const failure = this.supervisor.startupFailure();
    if (failure === undefined) return;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(errors.noWorkerCouldStart(failure));
    // Waiting would be in vain: nothing can serve these calls until a start succeeds.
    this.scheduler.failQueued(() => errors.noWorkerCouldStart(failure), true);
  }

  private async shutdown(force: boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Time kept for stopping workers: graceful, then forced.
    const stopGraceMs = Math.min(2_000, Math.floor(timeoutMs / 4));
    const stopReserveMs = stopGraceMs + Math.min(1_000, Math.floor(timeoutMs / 10));
    try {
      this.supervisor.beginClose();
      for (const waiter of this.readyWaiters.splice(0)) waiter.reject(errors.poolClosed());
      this.scheduler.failQueued(() => errors.poolClosed());
      if (!force && this.metrics.inFlight > 0) await this.drain(deadline - stopReserveMs - Date.now());
      // Whatever still runs is cancelled, which reaches the Python task.
      this.supervisor.failRunningCalls(() => errors.poolClosed());
      const stopped = await withinMs(this.supervisor.stopAll(stopGraceMs), deadline - Date.now());
      if (stopped) {
        this.registry.close();
      } else {
        // The registry file stays, so a later pool reaps whatever survived once this process is gone.
        this.logger.warn({ workers: this.supervisor.remaining() }, 'close() reached its bound before every worker was gone');
      }
      // Only now: a worker may call the bridge until it is gone.
      await withinMs(this.host.close(), deadline - Date.now());
    } catch (error) {
      this.logger.error({ error }, 'close() failed');
    }
  }

  private drain(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.recorder.idle = undefined;
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, ms));
      this.recorder.idle = finish;
    });
  }
}
