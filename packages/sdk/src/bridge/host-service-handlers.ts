/**
 * The HostService methods. Each one decodes its whole request first (request-decoding.ts) and only
 * then touches the store or the registry, so a malformed request never reaches them. Thrown
 * SnakepitErrors become gRPC errors in the server's interceptor — except in ExecuteHostTool,
 * which, like the worker's ExecuteTool, reports every failure of the call in-band as a ToolError.
 */
import type { ServiceImpl } from '@connectrpc/connect';
import { hostErrors, SnakepitError } from '../errors.js';
import type { HostService } from '../gen/snakepit/bridge/v1/host_pb.js';
import { validateSessionId, validateStateKey, type SessionStore } from '../session/session-store.js';
import type { HostToolRegistry } from '../tools/host-tool-registry.js';
import { validateStringMap } from '../tools/tool-validation.js';
import type { WorkerToolCatalog } from '../tools/worker-tool-catalog.js';
import { toToolError } from '../wire/tool-error.js';
import type { BridgeLogger } from './error-translation.js';
import {
  decodeCorrelationId,
  decodeJsonDocument,
  decodeOptionalSessionId,
  decodeToolCall,
  decodeToolSpecs,
  decodeTtl,
  decodeWorkerId,
  hostToolToWire,
  internalSessionMetadataKey,
  jsonToWire,
  resultToWire,
  sessionToWire,
} from './request-decoding.js';

export interface HostServiceHandlerDependencies {
  sessions: SessionStore;
  tools: HostToolRegistry;
  workerTools: WorkerToolCatalog;
  logger: BridgeLogger;
  onHeartbeat?: ((workerId: string) => void) | undefined;
}

export function createHostServiceHandlers(dependencies: HostServiceHandlerDependencies): ServiceImpl<typeof HostService> {
  const { sessions, tools, workerTools, logger, onHeartbeat } = dependencies;

  /** A ToolError for any failure of ExecuteHostTool; anything not a SnakepitError is a bug, logged. */
  function toolErrorOf(error: unknown, tool: string) {
    if (SnakepitError.isInstance(error)) {
      logger.debug({ tool, code: error.code }, 'host tool call failed');
      return toToolError(error);
    }
    logger.error({ tool, err: error }, 'host tool call failed unexpectedly');
    return toToolError(hostErrors.internal('internal error in the host bridge', error));
  }

  return {
    async heartbeat(request) {
      const workerId = decodeWorkerId(request.workerId);
      try {
        onHeartbeat?.(workerId);
      } catch (error) {
        // The pool's bookkeeping failing is not the worker's problem; it still gets its answer.
        logger.error({ workerId, err: error }, 'onHeartbeat callback threw');
      }
      return { serverTimeUnixMs: BigInt(Date.now()) };
    },

    async initializeSession(request) {
      const sessionId = validateSessionId(request.sessionId);
      const ttlMs = decodeTtl(request.ttlMs);
      const metadata = validateStringMap(request.metadata, 'metadata');
      const internal = metadata[internalSessionMetadataKey] === 'true';
      const session = await sessions.create(sessionId, { ...(ttlMs === undefined ? {} : { ttlMs }), metadata, internal });
      return { session: sessionToWire(session) };
    },

    async getSession(request) {
      const session = await sessions.get(validateSessionId(request.sessionId));
      return session === undefined ? {} : { session: sessionToWire(session) };
    },

    async cleanupSession(request) {
      return { deleted: await sessions.delete(validateSessionId(request.sessionId)) };
    },

    async getSessionState(request) {
      const sessionId = validateSessionId(request.sessionId);
      const key = validateStateKey(request.key);
      const value = await sessions.getState(sessionId, key);
      return value === undefined ? { found: false } : { found: true, valueJson: jsonToWire(value) };
    },

    async setSessionState(request) {
      const sessionId = validateSessionId(request.sessionId);
      const key = validateStateKey(request.key);
      const value = decodeJsonDocument(request.valueJson, 'value_json');
      await sessions.setState(sessionId, key, value);
      return {};
    },

    async deleteSessionState(request) {
      const sessionId = validateSessionId(request.sessionId);
      const key = validateStateKey(request.key);
      return { deleted: await sessions.deleteState(sessionId, key) };
    },

    async registerTools(request) {
      const workerId = decodeWorkerId(request.workerId);
      const specs = decodeToolSpecs(request.tools);
      workerTools.record(workerId, specs);
      return { registered: specs.map((spec) => spec.name) };
    },

    async listHostTools(request) {
      decodeOptionalSessionId(request.sessionId);
      return { tools: tools.list({ exposedOnly: true }).map(hostToolToWire) };
    },

    async executeHostTool(request, context) {
      const correlationId = decodeCorrelationId(context.requestHeader);
      const toolName = request.call?.toolName ?? '';
      try {
        const call = decodeToolCall(request.call);
        const value = await tools.execute(call.toolName, call.args, {
          sessionId: call.sessionId,
          signal: context.signal,
          correlationId,
          metadata: call.metadata,
          exposedOnly: true,
        });
        return { result: resultToWire(call.toolName, value) };
      } catch (error) {
        return { error: toolErrorOf(error, toolName.slice(0, 64)) };
      }
    },
  };
}
