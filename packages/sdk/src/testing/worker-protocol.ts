/**
 * The worker protocol (proto/snakepit/bridge/v1) as a wire-level test needs it: the generated
 * `WorkerService` and the messages its tool calls are made of, the protobuf-es functions that
 * build, encode and decode them, the error codes' text forms, and the error the harness's client throws. Re-exported so that a
 * test of a worker needs no direct dependency on @bufbuild/protobuf or @connectrpc/connect, and
 * gets the very versions the sdk speaks with.
 */
export {
  WorkerService,
  ExecuteToolRequestSchema,
  ExecuteToolResponseSchema,
  ExecuteStreamingToolRequestSchema,
  ExecuteStreamingToolResponseSchema,
  type ExecuteToolRequest,
  type ExecuteToolResponse,
  type ExecuteStreamingToolResponse,
  type StreamChunk,
} from '../gen/snakepit/bridge/v1/worker_pb.js';
export {
  ErrorCode,
  ToolCallSchema,
  ToolErrorSchema,
  ToolValueSchema,
  type ToolCall,
  type ToolError,
  type ToolValue,
} from '../gen/snakepit/bridge/v1/common_pb.js';
export { errorCodeName, errorCodeValue } from '../wire/error-code.js';
export { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
export { Code, ConnectError } from '@connectrpc/connect';
