/**
 * `createPool`: the public face of the pool. It validates and encodes each call before anything is
 * queued, hands it to the scheduler, and owns the pool's lifecycle (readiness, stats, close).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { CallRequest } from '../adapter.js';
import { errors, type SnakepitError } from '../errors.js';
import { createSafeLogger, guardLogger, type Logger } from '../logging.js';
import { encodeArguments } from '../payload/arguments.js';
import { PoolTelemetry } from '../telemetry.js';
import { createCallTracer, installedOpenTelemetryApi } from '../tracing/opentelemetry.js';
import type { CallOptions, Chunk, ChunkCallback, ToolArguments } from '../types.js';
import { toSnakepitError, UnaryCall, type CallHost } from './call.js';
import { CallObserver } from './call-observer.js';
import { PoolEventEmitter, type PoolEventListener, type PoolEventName } from './events.js';
import { maxTimerMs, resolveCallOptions, resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options.js';
import { OrphanRegistry, reapOrphans } from './orphan-registry.js';
import { Scheduler } from './scheduler.js';
import { StreamCall } from './stream-call.js';
import { WorkerLineLogger } from './worker-lines.js';
import { WorkerSupervisor } from './worker-supervisor.js';
import { HostServices } from './host-services.js';
import { createPoolSession, type PoolSession } from './pool-session.js';
import type { SessionStore } from '../session/session-store.js';
import type { HostToolRegistry } from '../tools/host-tool-registry.js';
import type { WorkerInfo } from './worker-slot.js';
import type { CloseOptions, Pool, PoolStats } from './pool-api.js';
import { consumeWithCallback, refusedStream } from './stream-forms.js';

export type { CloseOptions, Pool, PoolStats } from './pool-api.js';


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
  private readonly observer: CallObserver;
  private readonly events: PoolEventEmitter;
  private readonly telemetry = new PoolTelemetry();
  private readonly scheduler: Scheduler;
  private readonly supervisor: WorkerSupervisor;
  private readonly registry: OrphanRegistry;
  private readonly callHost: CallHost;
  private readonly host: HostServices;
  private callNumber = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readyWaiters: Array<{ resolve(): void; reject(error: SnakepitError): void }> = [];
  private drainWaiter: (() => void) | undefined;

  constructor(private readonly options: ResolvedPoolOptions) {
    const logger = createSafeLogger(options.logger);
    this.logger = logger;
    // Resolved once per pool: with tracing off or the API missing, every call skips it.
    const tracer = options.openTelemetry ? createCallTracer(installedOpenTelemetryApi()) : undefined;
    const observer = new CallObserver(logger, tracer);
    this.observer = observer;
    const events = new PoolEventEmitter(logger);
    this.events = events;
    const telemetry = this.telemetry;
    // Before our own workers exist, so a pid of ours is never mistaken for an orphan's.
    reapOrphans(options.dataDir, logger);
    this.registry = new OrphanRegistry(options.dataDir, logger);
    const scheduler = new Scheduler({
      events,
      telemetry,
      logger,
      maxQueue: options.maxQueue,
      queueTimeoutMs: options.queueTimeoutMs,
      refusal: () => this.refusal(),
      dispatched: (slot) => this.supervisor.dispatched(slot),
      workerReportedDead: (slot) => this.supervisor.workerReportedDead(slot),
      drained: (slot) => this.supervisor.drained(slot),
    });
    this.scheduler = scheduler;
    this.callHost = {
      events,
      telemetry,
      observer,
      leaveQueue: (call, reason) => scheduler.leaveQueue(call, reason),
      release: (slot, call, error) => scheduler.release(slot, call, error),
      callSettled: () => {
        if (this.drainWaiter !== undefined && telemetry.inFlight === 0) this.drainWaiter();
      },
    };
    const token = randomBytes(32).toString('hex');
    // Workers wait for the bridge's address before starting; shutdown() stops it after the workers.
    this.host = new HostServices({
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
      telemetry,
      logger,
      // Worker lines are scrubbed by WorkerLineLogger itself, so they skip the redacting wrapper.
      workerLines: new WorkerLineLogger(guardLogger(options.logger)),
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

  execute(tool: string, args?: ToolArguments, options?: CallOptions): Promise<unknown> {
    let call: UnaryCall;
    try {
      call = this.createCall(UnaryCall, tool, args, options, this.options.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    this.submit(call);
    return call.promise;
  }

  /**
   * A session call first makes sure its session exists (idempotent, and it keeps a session in use
   * from expiring), so Python can read and write its state; quotas apply here.
   */
  private submit(call: UnaryCall | StreamCall): void {
    this.observer.submitted(call, call instanceof StreamCall ? 'stream' : 'execute');
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

  executeStream(tool: string, args?: ToolArguments, options?: CallOptions): AsyncIterableIterator<Chunk>;
  executeStream(tool: string, args: ToolArguments | undefined, onChunk: ChunkCallback, options?: CallOptions): Promise<void>;
  executeStream(
    tool: string,
    args?: ToolArguments,
    optionsOrCallback?: CallOptions | ChunkCallback,
    callbackOptions?: CallOptions,
  ): AsyncIterableIterator<Chunk> | Promise<void> {
    if (typeof optionsOrCallback === 'function') {
      return consumeWithCallback(this.openStream(tool, args, callbackOptions), optionsOrCallback);
    }
    return this.openStream(tool, args, optionsOrCallback);
  }

  executeInSession(sessionId: string, tool: string, args?: ToolArguments, options?: CallOptions): Promise<unknown> {
    return this.execute(tool, args, { ...options, sessionId });
  }

  executeInSessionStream(sessionId: string, tool: string, args?: ToolArguments, options?: CallOptions): AsyncIterableIterator<Chunk>;
  executeInSessionStream(
    sessionId: string,
    tool: string,
    args: ToolArguments | undefined,
    onChunk: ChunkCallback,
    options?: CallOptions,
  ): Promise<void>;
  executeInSessionStream(
    sessionId: string,
    tool: string,
    args?: ToolArguments,
    optionsOrCallback?: CallOptions | ChunkCallback,
    callbackOptions?: CallOptions,
  ): AsyncIterableIterator<Chunk> | Promise<void> {
    if (typeof optionsOrCallback === 'function') {
      return this.executeStream(tool, args, optionsOrCallback, { ...callbackOptions, sessionId });
    }
    return this.executeStream(tool, args, { ...optionsOrCallback, sessionId });
  }

  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing !== undefined) {
      // A later forced close cuts short the drain of an earlier graceful one.
      if (options.force === true) this.drainWaiter?.();
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
      inFlight: this.telemetry.inFlight,
      counters: { ...this.telemetry.counters },
      runTimeMs: this.telemetry.runTime.summary(),
      waitTimeMs: this.telemetry.waitTime.summary(),
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

  private createCall<C extends UnaryCall | StreamCall>(
    Kind: new (...parameters: ConstructorParameters<typeof UnaryCall>) => C,
    tool: string,
    args: ToolArguments | undefined,
    options: CallOptions | undefined,
    defaultTimeoutMs: number,
  ): C {
    const resolved = resolveCallOptions(tool, options, { timeoutMs: defaultTimeoutMs, affinity: this.options.affinity });
    // Encoded once, before queueing: an unencodable argument is refused before anything is sent.
    const request: CallRequest = {
      tool,
      args: encodeArguments(args),
      correlationId: options?.correlationId ?? randomUUID(),
    };
    if (options?.sessionId !== undefined) request.sessionId = options.sessionId;
    if (options?.metadata !== undefined) request.metadata = options.metadata;
    const call = new Kind(this.callHost, ++this.callNumber, request, resolved.affinity, resolved.timeoutMs, resolved.signal);
    this.observer.created(call, args);
    return call;
  }

  private openStream(tool: string, args: ToolArguments | undefined, options: CallOptions | undefined): AsyncIterableIterator<Chunk> {
    let call: StreamCall;
    try {
      call = this.createCall(StreamCall, tool, args, options, this.options.streamTimeoutMs);
    } catch (error) {
      return refusedStream(error as SnakepitError);
    }
    call.schedule = (pending) => this.submit(pending);
    return call;
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
      if (!force && this.telemetry.inFlight > 0) await this.drain(deadline - stopReserveMs - Date.now());
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
        this.drainWaiter = undefined;
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, ms));
      this.drainWaiter = finish;
    });
  }
}
