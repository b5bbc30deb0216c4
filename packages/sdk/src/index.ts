/** `@snakepit/sdk`: run Python tools from Node.js in a pool of warm worker processes. */
export { createPool, type CloseOptions, type Pool, type PoolStats } from './pool/pool.js';
export type { Adapter, PoolOptions, RestartBackoffOptions, WorkerOutput } from './pool/options.js';
export type { ArgumentSchemas, JsonSchema } from './pool/argument-validation.js';
export type { PoolCore, TypedPoolCalls, UntypedPoolCalls } from './pool/pool-interface.js';
export type {
  PoolSession,
  PoolSessionCore,
  PoolSessionState,
  TypedSessionCalls,
  UntypedSessionCalls,
} from './session/pool-session.js';
export type {
  ArgsThenOptions,
  ChunkOf,
  StreamingToolName,
  ToolCatalog,
  ToolTypes,
  TypedExecute,
  TypedExecuteStream,
} from './pool/typed-tools.js';
export {
  createMemorySessionStore,
  sessionStoreDefaults,
  type MemorySessionStore,
  type MemorySessionStoreOptions,
} from './session/memory-session-store.js';
export type {
  CreateSessionOptions,
  ListSessionsOptions,
  Session,
  SessionStore,
  SessionStoreStats,
} from './session/session-store.js';
export type { JsonValue } from './wire/json-value.js';
export type {
  HostTool,
  HostToolContext,
  HostToolDefinition,
  HostToolHandler,
  HostToolOptions,
  HostToolRegistry,
} from './tools/host-tool-registry.js';
export type {
  CallEndEvent,
  CallErrorEvent,
  CallStartEvent,
  PoolEventListener,
  PoolEventName,
  PoolEvents,
  QueueLeaveReason,
} from './observability/events.js';
export type { WorkerInfo, WorkerState } from './workers/worker-slot.js';
export type { HistogramSummary, PoolCounters } from './observability/metrics.js';
export { SnakepitError, type SnakepitErrorCode, type SnakepitErrorOptions } from './errors.js';
export { createJsonLogger, type LogFunction, type LogLevel, type Logger } from './observability/logging.js';
export type { AffinityMode, CallOptions } from './pool/call-options.js';
export type { Chunk } from './wire/chunk.js';
export type { ChunkCallback, ChunkCallbackResult, ExecuteStream } from './pool/iterator-or-callback.js';
export type { ToolArguments } from './wire/arguments.js';
export type { AdapterV1, HeartbeatSettings } from './adapter/v1/adapter.js';
export type { AdapterV2 } from './adapter/v2/adapter.js';
