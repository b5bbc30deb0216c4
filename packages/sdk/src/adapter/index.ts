/** `@snakepit/sdk/adapter`: what adapter authors build on. */
export type {
  AdapterV1,
  AdapterWorkerV1,
  CallContext,
  CallRequest,
  HeartbeatSettings,
  WorkerExitInfo,
  WorkerLogRecord,
  WorkerStartContext,
} from '../adapter.js';
export {
  createGrpcProcessAdapter,
  defaultChannelMaxRequestBytes,
  defaultMaxMessageBytes,
  type GrpcProcessAdapterSettings,
} from '../worker/grpc-process-adapter.js';
export type { WorkerProcessSpec } from '../worker/worker-process.js';
export { decodeArguments, encodeArguments, type EncodedArguments } from '../payload/arguments.js';
export { toChunk, type ChunkPayload } from '../payload/chunk.js';
export { SnakepitError, errors } from '../errors.js';
