/**
 * Adapter spec v1: the seam between the pool and a runtime. An adapter starts workers; a worker
 * runs calls. Everything else (pooling, queueing, affinity, deadlines, restarts, sessions) lives
 * in the sdk. Methods carry a `do` prefix so they are never mistaken for the public API.
 */
import type { EncodedArguments } from '../../wire/arguments.js';
import type { Chunk } from '../../wire/chunk.js';
import type { WorkerToolSpec } from '../../tools/worker-tool-catalog.js';
import type { HostRequestHandler } from '../../bridge/host-requests.js';

export interface AdapterV1 {
  readonly specificationVersion: 'v1';
  /** Short name for logs, e.g. "python". */
  readonly name: string;
  /** Starts one worker and resolves once it is ready to take calls. */
  doStartWorker(context: WorkerStartContext): Promise<AdapterWorkerV1>;
}

export interface HeartbeatSettings {
  intervalMs: number;
  timeoutMs: number;
  maxMissed: number;
}

export interface WorkerLogRecord {
  workerId: string;
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  message: string;
  /** Where the line came from: the worker's structured logger, or raw stdout/stderr. */
  source: 'logging' | 'stdout' | 'stderr';
  correlationId?: string;
  fields?: Record<string, unknown>;
}

export interface WorkerStartContext {
  /** Unique within the pool, e.g. "w3". */
  workerId: string;
  /** Secret the worker requires on every call it serves, and presents to the host bridge. */
  token: string;
  /** The pool's host bridge, when it runs one. */
  hostAddress?: string;
  /**
   * Serves host requests a worker sends on a connection the pool opened (its call channel) rather
   * than to `hostAddress`: how a worker run as a service reaches the host. Added within v1; always
   * set by pools that have it, ignored by adapters that do not need it.
   */
  hostRequests?: HostRequestHandler;
  heartbeat: HeartbeatSettings;
  /** Startup is abandoned (and the process stopped) when this fires. */
  signal: AbortSignal;
  startupTimeoutMs: number;
  /** A folder the pool owns, for pid files that let a later pool reap orphans. */
  dataDir?: string;
  /** Every line the worker logs. */
  onLog(record: WorkerLogRecord): void;
}

export interface WorkerExitInfo {
  code: number | null;
  signal: string | null;
  /** Why a worker that is no process of ours is gone (a remote worker: its connection was lost, and how). */
  reason?: string;
}

export interface CallRequest {
  tool: string;
  args: EncodedArguments;
  sessionId?: string;
  correlationId: string;
  metadata?: Record<string, string>;
  /**
   * Trace context headers for the worker (`traceparent`, `tracestate`, and whatever else the
   * application's OpenTelemetry propagator writes). Set by the pool when tracing is on; an adapter
   * sends them along with the call (the gRPC adapters as metadata).
   */
  traceContext?: Record<string, string>;
}

export interface CallContext {
  /** Fires on deadline, caller abort or pool shutdown; the worker must cancel the remote call. */
  signal: AbortSignal;
  /** Absolute deadline (ms since epoch), for propagation to the worker. */
  deadline: number;
}

export interface AdapterWorkerV1 {
  readonly id: string;
  /** OS process id, when the worker is a process. */
  readonly pid?: number;
  /** How many calls it runs at once (1 in process mode). */
  readonly capacity: number;
  /** What the worker reported about itself (runtime version, mode...). */
  readonly info: Readonly<Record<string, unknown>>;
  /** Resolves once, when the worker is gone for whatever reason. */
  readonly exited: Promise<WorkerExitInfo>;
  /**
   * Resolves if the worker announces that it takes no new calls (a worker server shutting down:
   * HTTP/2 GOAWAY). The pool then routes nothing more to it, stops pinging it, lets its calls in
   * flight finish and starts a replacement. Optional, added within v1.
   */
  readonly draining?: Promise<void>;
  doExecute(request: CallRequest, context: CallContext): Promise<unknown>;
  doStream(request: CallRequest, context: CallContext): AsyncIterable<Chunk>;
  /** Resolves when the worker answered within the timeout; rejects otherwise. */
  doPing(timeoutMs: number): Promise<void>;
  doBeginSession?(sessionId: string): Promise<void>;
  doEndSession?(sessionId: string): Promise<void>;
  /**
   * The tools the worker serves, as it describes them (gRPC workers: `DescribeTools`), each with
   * its `parameters` document (a JSON Schema for Python workers). Optional, added within v1: the
   * pool never calls it; tools such as `npx snakepit types` do. Rejects when the worker does not
   * answer within `timeoutMs`.
   */
  doDescribeTools?(timeoutMs: number): Promise<WorkerToolSpec[]>;
  /** Graceful stop within `graceMs`, then forced; kills the worker's whole process group. */
  doStop(options: { graceMs: number }): Promise<void>;
}
