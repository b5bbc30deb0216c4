/**
 * A lean gRPC client transport for connect, straight on node:http2. A drop-in for
 * `createGrpcTransport({ baseUrl })` from @connectrpc/connect-node when calling a local worker:
 * same protocol (binary protobuf, no compression), same ConnectError codes, but without connect's
 * per-call machinery (Headers objects, AbortControllers, async-iterable pipelines), which is where
 * most of the client-side CPU of a small call went.
 *
 * Not supported: interceptors, JSON format, compression.
 */
import type * as http2 from 'node:http2';
import {
  create,
  isMessage,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescMethodStreaming,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createContextKey,
  type ContextValues,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from '@connectrpc/connect';
import { encodeEnvelope } from './grpc-framing.js';
import { encodeTimeout } from './grpc-status.js';
import { Http2Connection } from './http2-connection.js';
import { StreamingRpc } from './streaming-rpc.js';
import { UnaryRpc } from './unary-rpc.js';

export interface GrpcHttp2TransportOptions {
  /** Server address, e.g. `http://127.0.0.1:50051`; a path prefix is kept in front of method paths. */
  baseUrl: string;
  /** Largest response message accepted; a larger one fails the call with ResourceExhausted. Default 256 MiB. */
  readMaxBytes?: number;
  /** Deadline for calls that pass no `timeoutMs` (connect's semantics: <= 0 means none). Default none. */
  defaultTimeoutMs?: number;
  /** Per-stream receive window we advertise. Default 8 MiB, so a 6 MiB message arrives without a stall. */
  initialWindowSize?: number;
  /** Connection-level receive window. Default 32 MiB, shared by concurrent streams. */
  sessionWindowSize?: number;
  /** node's memory budget for the session, in megabytes. Default 256; beyond it new calls are refused. */
  maxSessionMemory?: number;
  /** Largest DATA frame the server may send. Default 1 MiB (HTTP/2's default is 16 KiB). */
  maxFrameSize?: number;
  /** Sent as `user-agent` unless the call sets its own. */
  userAgent?: string;
  /** TLS client options for an `https:` baseUrl: trusted CA, client certificate and key (mTLS), server name. */
  tls?: Pick<http2.SecureClientSessionOptions, 'ca' | 'cert' | 'key' | 'servername'>;
  /**
   * Open a new connection when the last one closed. Default true. False: the first connection is
   * the only one (`ended` resolves when it closes, and later calls fail with Unavailable).
   */
  reconnect?: boolean;
}

/** A connect Transport that owns one HTTP/2 connection. */
export interface GrpcHttp2Transport extends Transport {
  /** Stops new calls and closes the connection once calls in flight have finished. Idempotent. */
  close(): void;
  /** Closes the connection now; calls in flight fail with Unavailable. Idempotent. */
  destroy(): void;
  /** Connects now; resolves once connected (TLS handshake done), rejects with the cause of a failure. */
  connect(): Promise<void>;
  /** Resolves once the transport is closed for good, with the connection's error if one ended it. */
  readonly ended: Promise<unknown>;
  /** With `reconnect: false`: resolves when the server sent GOAWAY (no new calls; those in flight finish). */
  readonly goingAway: Promise<void>;
}

/**
 * Pass `contextValues: createContextValues().set(streamHoldsEventLoop, false)` for a stream that
 * stays open for a connection's whole life and is idle most of it (a call channel): it then does
 * not keep the process alive by itself. Whoever waits on it must hold the loop some other way (a
 * deadline timer does). Ignored by other transports.
 */
export const streamHoldsEventLoop = createContextKey(true, { description: 'stream holds the event loop' });

/** fetch's HeadersInit (not a global type under this package's lib settings). */
type HeadersInit = ConstructorParameters<typeof Headers>[0];

const mebibyte = 1 << 20;
const contentType = 'application/grpc+proto';

export function createGrpcHttp2Transport(options: GrpcHttp2TransportOptions): GrpcHttp2Transport {
  const url = new URL(options.baseUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`baseUrl must be an http: or https: URL, got "${options.baseUrl}"`);
  }
  const pathPrefix = url.pathname.replace(/\/+$/, '');
  const readMaxBytes = options.readMaxBytes ?? 256 * mebibyte;
  const defaultTimeoutMs = options.defaultTimeoutMs;
  const userAgent = options.userAgent ?? 'snakepit-grpc-http2/1';
  const connection = new Http2Connection(url.origin, {
    initialWindowSize: options.initialWindowSize ?? 8 * mebibyte,
    sessionWindowSize: options.sessionWindowSize ?? 32 * mebibyte,
    maxSessionMemory: options.maxSessionMemory ?? 256,
    maxFrameSize: options.maxFrameSize ?? mebibyte,
    tls: options.tls,
    reconnect: options.reconnect ?? true,
  });
  const paths = new WeakMap<DescMethod, string>();

  function requestHeaders(method: DescMethod, timeoutMs: number | undefined, header: HeadersInit | undefined) {
    let path = paths.get(method);
    if (path === undefined) {
      path = `${pathPrefix}/${method.parent.typeName}/${method.name}`;
      paths.set(method, path);
    }
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': contentType,
      te: 'trailers',
      'user-agent': userAgent,
    };
    if (timeoutMs !== undefined) headers['grpc-timeout'] = encodeTimeout(timeoutMs);
    if (header !== undefined) addCallerHeaders(headers, header);
    return headers;
  }

  function effectiveTimeout(timeoutMs: number | undefined): number | undefined {
    if (timeoutMs === undefined) timeoutMs = defaultTimeoutMs;
    return timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
  }

  return {
    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      _contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      let request: Uint8Array;
      try {
        request = serialize(method.input, input);
      } catch (error) {
        return Promise.reject(error);
      }
      const deadline = effectiveTimeout(timeoutMs);
      const call = new UnaryRpc(connection, readMaxBytes, method);
      return call.run(requestHeaders(method, deadline, header), request, signal, deadline);
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      const deadline = effectiveTimeout(timeoutMs);
      const headers = requestHeaders(method, deadline, header);
      const holdsEventLoop = contextValues?.get(streamHoldsEventLoop) ?? true;
      const call = new StreamingRpc(connection, readMaxBytes, method, holdsEventLoop);
      if (method.methodKind === 'server_streaming') {
        // Exactly one request message: send it with the end of stream in one write.
        let request: Uint8Array | undefined;
        for await (const message of input) {
          request = serialize(method.input, message);
          break;
        }
        if (request === undefined) {
          throw new ConnectError('protocol error: missing request message for server streaming method', Code.Internal);
        }
        return call.run(headers, request, signal, deadline);
      }
      const opened = call.run(headers, undefined, signal, deadline);
      void call.writeRequests(frames(method.input, input));
      return opened;
    },

    close() {
      connection.close();
    },

    destroy() {
      connection.destroy();
    },

    connect() {
      return connection.connect();
    },

    ended: connection.ended,
    goingAway: connection.goingAway,
  };
}

function serialize<I extends DescMessage>(schema: I, input: MessageInitShape<I>): Uint8Array {
  try {
    const message = isMessage(input, schema) ? (input as MessageShape<I>) : create(schema, input);
    return toBinary(schema, message);
  } catch (error) {
    throw new ConnectError(`failed to serialize ${schema.typeName}`, Code.Internal, undefined, undefined, error);
  }
}

async function* frames<I extends DescMessage>(schema: I, input: AsyncIterable<MessageInitShape<I>>): AsyncIterable<Buffer> {
  for await (const message of input) yield encodeEnvelope(serialize(schema, message));
}

/** Protocol headers are ours; the caller's copies of them are ignored, as connect does. */
const protocolHeaders = new Set(['content-type', 'te', 'grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding']);

function addCallerHeaders(target: http2.OutgoingHttpHeaders, init: HeadersInit): void {
  if (init === undefined) return;
  if (init instanceof Headers) {
    init.forEach((value, key) => addHeader(target, key, value));
  } else if (Array.isArray(init)) {
    for (const [key, value] of init) if (key !== undefined && value !== undefined) addHeader(target, key.toLowerCase(), value);
  } else {
    for (const key of Object.keys(init)) {
      const value = init[key];
      if (typeof value === 'string') addHeader(target, key.toLowerCase(), value);
      else if (value !== undefined) for (const item of value) addHeader(target, key.toLowerCase(), item);
    }
  }
}

function addHeader(target: http2.OutgoingHttpHeaders, key: string, value: string): void {
  if (key.charCodeAt(0) === 58 || protocolHeaders.has(key)) return;
  const existing = target[key];
  if (existing === undefined || key === 'user-agent') target[key] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else target[key] = [String(existing), value];
}
