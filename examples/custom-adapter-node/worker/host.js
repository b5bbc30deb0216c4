/**
 * The worker's side of the host bridge (PROTOCOL.md §9, §10): one HTTP/2 connection to the pool's
 * HostService for the worker's life, used to register the tools, to beat the heartbeat, and for
 * tools to call Node host tools and read or write their session's state.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { ToolCallSchema } from '../gen/snakepit/bridge/v1/common_pb.js';
import { HostService } from '../gen/snakepit/bridge/v1/host_pb.js';
import { logger } from './log.js';
import { decodeJson, encodeJson, errorCodeName } from './values.js';

/** Headers of the tool call that a host call made for it forwards. */
const forwardedHeaders = ['x-snakepit-correlation-id', 'traceparent', 'tracestate'];

/** A failure reported by the host; `code` is its Snakepit error code (e.g. host_tool_error). */
export class HostError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'HostError';
    this.code = code;
    this.details = details;
  }
}

export class HostBridge {
  constructor({ address, token, workerId, maxMessageBytes }) {
    const baseUrl = `http://${address}`;
    this.workerId = workerId;
    this.sessionManager = new Http2SessionManager(baseUrl);
    const authorization = `Bearer ${token}`;
    const transport = createGrpcTransport({
      baseUrl,
      sessionManager: this.sessionManager,
      readMaxBytes: maxMessageBytes,
      writeMaxBytes: maxMessageBytes,
      acceptCompression: [],
      interceptors: [
        (next) => (request) => {
          request.header.set('authorization', authorization);
          return next(request);
        },
      ],
    });
    this.client = createClient(HostService, transport);
    this.heartbeatTimer = undefined;
    this.closed = false;
  }

  /** Once, before the ready line. A failure is logged, never fatal. */
  async registerTools(tools) {
    try {
      await this.client.registerTools({ workerId: this.workerId, tools }, { timeoutMs: 5000 });
    } catch (error) {
      logger.warn(`could not register tools with the host: ${ConnectError.from(error).message}`);
    }
  }

  /**
   * Beats every `intervalMs` after the previous beat started (at once if it took longer), one at a
   * time; after `maxMissed` failures in a row the host is taken for gone and `onLost` runs.
   */
  startHeartbeat({ intervalMs, timeoutMs, maxMissed }, onLost) {
    let missed = 0;
    const beat = async () => {
      const startedAt = Date.now();
      try {
        await this.client.heartbeat({ workerId: this.workerId }, { timeoutMs });
        missed = 0;
      } catch (error) {
        missed += 1;
        logger.warn(`heartbeat ${missed}/${maxMissed} failed: ${ConnectError.from(error).message}`);
        if (missed >= maxMissed) return onLost(error);
      }
      if (!this.closed) this.heartbeatTimer = setTimeout(beat, Math.max(0, startedAt + intervalMs - Date.now()));
    };
    this.heartbeatTimer = setTimeout(beat, intervalMs);
  }

  /** Runs a Node host tool for a tool call; its failures arrive as data and are thrown as HostError. */
  async callTool(name, args, { sessionId, headers, signal }) {
    /** @type {Record<string, Uint8Array>} */
    const jsonParameters = {};
    /** @type {Record<string, Uint8Array>} */
    const binaryParameters = {};
    for (const [key, value] of Object.entries(args)) {
      if (value instanceof Uint8Array) binaryParameters[key] = value;
      else jsonParameters[key] = encodeJson(value);
    }
    const call = create(ToolCallSchema, { toolName: name, sessionId: sessionId ?? '', jsonParameters, binaryParameters });
    const response = await this.rpc(() => this.client.executeHostTool({ call }, { headers: forward(headers), signal }));
    if (response.error) {
      const { code, message, detailsJson } = response.error;
      throw new HostError(errorCodeName(code), message, detailsJson.byteLength > 0 ? decodeJson(detailsJson) : {});
    }
    const result = response.result?.kind;
    if (result?.case === 'binary') return result.value;
    return result?.case === 'json' ? decodeJson(result.value) : null;
  }

  async getState(sessionId, key, { headers, signal }) {
    const response = await this.rpc(() => this.client.getSessionState({ sessionId, key }, { headers: forward(headers), signal }));
    return response.found ? decodeJson(response.valueJson) : undefined;
  }

  async setState(sessionId, key, value, { headers, signal }) {
    await this.rpc(() => this.client.setSessionState({ sessionId, key, valueJson: encodeJson(value) }, { headers: forward(headers), signal }));
  }

  /** Host failures are gRPC errors whose trailer `snakepit-error-code` names the Snakepit code. */
  async rpc(send) {
    try {
      return await send();
    } catch (error) {
      const failure = ConnectError.from(error);
      const code = failure.metadata.get('snakepit-error-code');
      if (code !== null) throw new HostError(code, failure.rawMessage);
      const unreachable = [Code.Unavailable, Code.DeadlineExceeded, Code.Canceled].includes(failure.code);
      throw new HostError(unreachable ? 'host_bridge_unavailable' : 'internal', failure.rawMessage);
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
    this.sessionManager.abort();
  }
}

function forward(headers) {
  const forwarded = {};
  for (const name of forwardedHeaders) if (headers[name]) forwarded[name] = headers[name];
  return forwarded;
}
