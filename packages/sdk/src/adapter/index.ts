/** `@snakepit/sdk/adapter`: what adapter (and session store) authors build on. */
export type {
  AdapterV1,
  AdapterWorkerV1,
  CallContext,
  CallRequest,
  HeartbeatSettings,
  WorkerExitInfo,
  WorkerLogRecord,
  WorkerStartContext,
} from './v1/adapter.js';
export type { AdapterV2, SeatStartContext, SeatWatchContext } from './v2/adapter.js';
export type { HostAnswer, HostRequest, HostRequestHandler } from '../bridge/host-requests.js';
export {
  connectGrpcWorker,
  parseEndpoint,
  type RemoteGrpcWorkerSettings,
  type RemoteTlsOptions,
} from '../workers/remote-grpc-worker.js';
export type { WorkerToolSpec } from '../tools/worker-tool-catalog.js';
export {
  createGrpcProcessAdapter,
  defaultChannelMaxRequestBytes,
  defaultMaxMessageBytes,
  resolveMessageLimits,
  type GrpcProcessAdapterSettings,
} from '../workers/grpc-process-adapter.js';
export type { WorkerProcessSpec } from '../workers/worker-process.js';
export { decodeArguments, encodeArguments, type EncodedArguments } from '../wire/arguments.js';
export { toChunk, type ChunkPayload } from '../wire/chunk.js';
export { SnakepitError, errors, hostErrors } from '../errors.js';
// For SessionStore implementations (e.g. @snakepit/session-store-redis): the same validation and
// wording as the in-memory store, so every store refuses the same input the same way.
export {
  maxSessionIdLength,
  maxSessionTtlMs,
  maxStateKeyLength,
  validateSessionId,
  validateStateKey,
} from '../session/session-store.js';
export { validateStringMap } from '../tools/tool-validation.js';
export { assertJsonValue } from '../wire/json-value.js';
