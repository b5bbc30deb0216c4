/**
 * `snakepit.bridge.v1.WorkerService` for connect's router (PROTOCOL.md §6): each RPC checks the
 * call, runs the tool with a context (session id, correlation id, an AbortSignal, host tools and
 * session state), and reports failures as `ToolError` data. Pings never wait behind tools.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { ToolCallSchema } from '../gen/snakepit/bridge/v1/common_pb.js';
import { serveCallChannel } from './call-channel.js';
import { CallAborted } from './dispatch.js';
import { HostError } from './host.js';
import { logger } from './log.js';
import { streamResponses } from './streams.js';
import { toToolError, toToolValue, ToolFailure } from './values.js';

const callHeaders = ['x-snakepit-correlation-id', 'traceparent', 'tracestate'];

/** Counts the calls in flight, so a graceful stop can wait for them. */
export class InFlight {
  count = 0;
  #idle = [];
  enter() {
    this.count += 1;
  }
  leave() {
    this.count -= 1;
    if (this.count === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
  idle() {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }
}

export function createWorkerService({ dispatcher, info, hooks, host, maxMessageBytes, inFlight }) {
  /** What a tool gets besides its arguments. */
  function toolContext(call, signal, headers) {
    const sessionId = call.sessionId === '' ? undefined : call.sessionId;
    const hostCall = { sessionId, headers, signal };
    const needHost = () => {
      if (host === undefined) throw new HostError('host_bridge_unavailable', 'this worker has no host bridge');
      return host;
    };
    const needSession = () => {
      if (sessionId === undefined) throw new HostError('session_not_found', 'the call belongs to no session');
      return sessionId;
    };
    return {
      sessionId,
      correlationId: headers['x-snakepit-correlation-id'] ?? '',
      metadata: call.metadata,
      signal,
      callHostTool: (name, args = {}) => needHost().callTool(name, args, hostCall),
      state: {
        get: (key) => needHost().getState(needSession(), key, hostCall),
        set: (key, value) => needHost().setState(needSession(), key, value, hostCall),
      },
    };
  }

  /** One unary call, from an RPC or the call channel. Rejects (CallAborted) only once `signal` fired. */
  async function execute(call, signal, headers) {
    const correlationId = headers['x-snakepit-correlation-id'];
    const startedAt = performance.now();
    let outcome = 'ok';
    inFlight.enter();
    try {
      const prepared = dispatcher.prepare(call);
      const result = await dispatcher.run(prepared, toolContext(call, signal, headers));
      // An unset result reads as null on the pool side.
      return result === undefined ? {} : { result: toToolValue(result) };
    } catch (error) {
      if (error instanceof CallAborted || signal.aborted) {
        outcome = 'cancelled';
        throw new CallAborted();
      }
      outcome = error instanceof ToolFailure ? error.code : 'error';
      return { error: toToolError(error) };
    } finally {
      inFlight.leave();
      const elapsed = (performance.now() - startedAt).toFixed(1);
      logger.debug(`call end: ${call.toolName} (${outcome}, ${elapsed} ms)`, { tool: call.toolName, ...(correlationId ? { correlation_id: correlationId } : {}) });
    }
  }

  /** The RPC was cancelled or ran out of time: the status tells which (the pool rarely still listens). */
  function abortedRpc(signal) {
    return signal.reason instanceof ConnectError ? signal.reason : new ConnectError('the call was cancelled', Code.Canceled);
  }

  async function sessionNotice(hook, sessionId) {
    try {
      await hook?.(sessionId);
    } catch (error) {
      throw new ConnectError(`session hook failed: ${error?.message ?? error}`, Code.Internal);
    }
    return {};
  }

  return {
    ping(request) {
      return { message: request.message, info };
    },

    async executeTool(request, context) {
      try {
        return await execute(request.call ?? create(ToolCallSchema), context.signal, headersOf(context.requestHeader));
      } catch {
        throw abortedRpc(context.signal);
      }
    },

    async *executeStreamingTool(request, context) {
      const call = request.call ?? create(ToolCallSchema);
      const headers = headersOf(context.requestHeader);
      // Aborted when the RPC is, and when gRPC stops reading for any other reason: the tool's
      // generator must be closed either way.
      const controller = new AbortController();
      const abort = () => controller.abort(context.signal.reason);
      context.signal.addEventListener('abort', abort, { once: true });
      inFlight.enter();
      try {
        let prepared;
        try {
          prepared = dispatcher.prepare(call);
        } catch (error) {
          yield { chunks: [{ isFinal: true, error: toToolError(error) }] };
          return;
        }
        yield* streamResponses(prepared, toolContext(call, controller.signal, headers));
      } catch (error) {
        if (error instanceof CallAborted) throw abortedRpc(context.signal);
        throw error;
      } finally {
        context.signal.removeEventListener('abort', abort);
        controller.abort();
        inFlight.leave();
      }
    },

    calls(frames, context) {
      return serveCallChannel(frames, context.signal, { execute, maxMessageBytes });
    },

    describeTools() {
      return { tools: dispatcher.specs() };
    },

    beginSession(request) {
      return sessionNotice(hooks.beginSession, request.sessionId);
    },

    endSession(request) {
      return sessionNotice(hooks.endSession, request.sessionId);
    },
  };
}

function headersOf(requestHeader) {
  const headers = {};
  for (const name of callHeaders) {
    const value = requestHeader.get(name);
    if (value !== null) headers[name] = value;
  }
  return headers;
}
