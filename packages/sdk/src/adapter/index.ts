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
} from './v1/adapter.js';
export {
  createGrpcProcessAdapter,
  defaultChannelMaxRequestBytes,
  defaultMaxMessageBytes,
  type GrpcProcessAdapterSettings,
} from '../workers/grpc-process-adapter.js';
export type { WorkerProcessSpec } from '../workers/worker-process.js';
export { decodeArguments, encodeArguments, type EncodedArguments } from '../wire/arguments.js';
export { toChunk, type ChunkPayload } from '../wire/chunk.js';
export { SnakepitError, errors } from '../errors.js';
