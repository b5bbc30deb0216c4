/** The pool's public surface: what `createPool` returns. */
import type { PoolEventListener, PoolEventName } from '../observability/events.js';
import type { PoolSession } from '../session/pool-session.js';
import type { SessionStore } from '../session/session-store.js';
import type { HistogramSummary, PoolCounters } from '../observability/metrics.js';
import type { HostToolRegistry } from '../tools/host-tool-registry.js';
import type { ToolArguments } from '../wire/arguments.js';
import type { CallOptions } from './call-options.js';
import type { ExecuteStream } from './iterator-or-callback.js';
import type { ToolCatalog, TypedExecute, TypedExecuteStream } from './typed-tools.js';
import type { WorkerInfo } from '../workers/worker-slot.js';

export interface CloseOptions {
  /** Cancel calls in flight at once instead of letting them finish. Default false. */
  force?: boolean;
  /** Bound for the whole close. Default: the pool's `shutdownTimeoutMs`. */
  timeoutMs?: number;
}

export interface PoolStats {
  workers: { total: number; ready: number; busy: number; starting: number };
  queueLength: number;
  inFlight: number;
  counters: PoolCounters;
  runTimeMs: HistogramSummary;
  waitTimeMs: HistogramSummary;
}

/**
 * What `createPool` returns. `Tools` (what `npx snakepit types` generates) makes every call checked
 * at compile time; without it, any tool name is accepted and results are `unknown`.
 */
export type Pool<Tools extends ToolCatalog | undefined = undefined> = PoolCore &
  // Tested against undefined (not against ToolCatalog), so that projects without strictNullChecks,
  // where undefined is assignable to everything, still get untyped calls by default.
  ([Tools] extends [undefined] ? UntypedPoolCalls : TypedPoolCalls<NonNullable<Tools>>);

/** The calls of a pool created with `createPool<Tools>()`. */
export interface TypedPoolCalls<Tools extends ToolCatalog> {
  /** Runs a tool and resolves with its declared result type. */
  readonly execute: TypedExecute<Tools>;
  /** A streaming tool's chunks, typed, as an async iterator or through a callback. */
  readonly executeStream: TypedExecuteStream<Tools>;
  readonly executeInSession: TypedExecute<Tools, [sessionId: string]>;
  readonly executeInSessionStream: TypedExecuteStream<Tools, [sessionId: string]>;
  /** A handle that runs calls in one session and reads or writes its state. */
  session(sessionId: string): PoolSession<Tools>;
}

/** The calls of an untyped pool: any tool name, `unknown` results unless you name the type. */
export interface UntypedPoolCalls {
  /**
   * Runs `tool` on a worker and resolves with its result. `T` is what you know the tool returns
   * (it is not checked at run time); default `unknown`.
   */
  execute<T = unknown>(tool: string, args?: ToolArguments, options?: CallOptions): Promise<T>;
  /** A tool's chunks, as an async iterator or through a callback that may return `'halt'`. */
  readonly executeStream: ExecuteStream;
  /** `execute` in one session: Snakepit's name for `execute(tool, args, { sessionId })`. */
  executeInSession<T = unknown>(sessionId: string, tool: string, args?: ToolArguments, options?: CallOptions): Promise<T>;
  /** `executeStream` in one session, in both forms. */
  readonly executeInSessionStream: ExecuteStream<[sessionId: string]>;
  /** A handle that runs calls in one session and reads or writes its state. */
  session(sessionId: string): PoolSession;
}

/** What every pool offers, typed or not. */
export interface PoolCore extends AsyncDisposable {
  /** Resolves once a worker is ready; rejects with `startup_failed` once every initial worker failed to start. */
  ready(): Promise<void>;
  /** The session store shared by the pool's workers (state outlives any one worker). */
  readonly sessions: SessionStore;
  /** Node functions that Python tools may call (`context.call_host_tool`). */
  readonly tools: HostToolRegistry;
  close(options?: CloseOptions): Promise<void>;
  stats(): PoolStats;
  listWorkers(): WorkerInfo[];
  on<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): this;
  off<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): this;
  once<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): this;
  [Symbol.asyncDispose](): Promise<void>;
}
