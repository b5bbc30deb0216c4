/** `@snakepit/sdk`: run Python tools from Node.js in a pool of warm worker processes. */
export { createPool, type CloseOptions, type Pool, type PoolStats } from './pool/pool.js';
export type { PoolOptions, RestartBackoffOptions } from './pool/options.js';
export type { PoolSession, PoolSessionState } from './pool/pool-session.js';
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
export type { JsonValue } from './session/json-value.js';
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
} from './pool/events.js';
export type { WorkerInfo, WorkerState } from './pool/worker-slot.js';
export type { HistogramSummary, PoolCounters } from './telemetry.js';
export { SnakepitError, type SnakepitErrorCode, type SnakepitErrorOptions } from './errors.js';
export { createJsonLogger, type LogFunction, type LogLevel, type Logger } from './logging.js';
export type { AffinityMode, CallOptions, Chunk, ChunkCallback, ChunkCallbackResult, ToolArguments } from './types.js';
export type { AdapterV1, HeartbeatSettings } from './adapter.js';
