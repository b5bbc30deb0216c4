/**
 * A worker server on another host (`python -m snakepit_bridge.serve`, or any server of the worker
 * contract), reached over one HTTP/2 connection — TLS unless explicitly plaintext, never falling
 * back to it. Connecting is the worker's start: the connection is made within `connectTimeoutMs`,
 * then a `Ping` carrying the token must answer within `handshakeTimeoutMs`, and its `WorkerInfo`
 * gives the capacity. Each failure is `startup_failed` with a message naming the cause (refused,
 * timed out, TLS certificate not trusted, certificate not matching the name, token refused).
 *
 * The connection is the worker's life: when it closes or fails, the worker is gone (its calls fail
 * typed, the pool reconnects with backoff); stopping the worker ends the connection gracefully —
 * the remote server keeps serving its other clients. Host requests come back on the call channel
 * (`hostRequests`), so nothing listens on this side.
 */
import { isIP } from 'node:net';
import { toJson } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import type { AdapterWorkerV1, WorkerExitInfo } from '../adapter/v1/adapter.js';
import type { HostRequestHandler } from '../bridge/host-requests.js';
import { errors, SnakepitError } from '../errors.js';
import { WorkerInfoSchema, WorkerService } from '../gen/snakepit/bridge/v1/worker_pb.js';
import { createGrpcHttp2Transport, type GrpcHttp2Transport } from '../transport/index.js';
import { authorizationHeader } from '../wire/headers.js';
import { GrpcWorker, type WorkerLifetime } from './grpc-worker.js';

type Pem = string | Buffer | Array<string | Buffer>;

export interface RemoteTlsOptions {
  /** CA certificate(s) the server's certificate must chain to. */
  ca: Pem;
  /** Client certificate and key, for servers that require mutual TLS. */
  cert?: Pem;
  key?: Pem;
  /** The name the server's certificate must carry. Default: the endpoint's host. */
  serverName?: string;
}

export interface RemoteGrpcWorkerSettings {
  workerId: string;
  /** "host:port", "[ipv6]:port". */
  endpoint: string;
  /** The token the server requires on every call. */
  token: string;
  /** TLS settings; `'plaintext'` for a loopback server without TLS (development only). */
  tls: RemoteTlsOptions | 'plaintext';
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** Largest message either side sends or accepts. */
  maxMessageBytes: number;
  /** Unary calls up to this many request bytes travel on the call channel; 0: none. */
  channelMaxRequestBytes: number;
  /** Serves the worker's host requests, which come back on its call channel. */
  hostRequests?: HostRequestHandler | undefined;
  /** Abandons the start (the connection is closed). */
  signal: AbortSignal;
}

/** Splits "host:port" / "[v6]:port"; undefined when it is neither. */
export function parseEndpoint(endpoint: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(endpoint);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  const host = match[1] ?? match[2]!;
  if (match[1] !== undefined && isIP(host) !== 6) return undefined;
  return { host, port };
}

const untrustedCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/** The connection failure, in words that name its cause. */
function describeConnectFailure(endpoint: string, serverName: string, error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  const text = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') return `endpoint ${endpoint} refused the connection`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `TLS: the certificate of ${endpoint} does not name "${serverName}" (${text}); set tls.serverName to a name it carries`;
  }
  if (typeof code === 'string' && untrustedCodes.has(code)) {
    return `TLS: the certificate of ${endpoint} is not signed by the configured CA (${code}: ${text})`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `TLS: the certificate of ${endpoint} is not valid now (${code})`;
  if (typeof code === 'string' && (code.startsWith('ERR_SSL') || code === 'EPROTO')) {
    return `TLS handshake with ${endpoint} failed (${code}: ${text}); is the server serving TLS, and does it require a client certificate?`;
  }
  return `could not connect to ${endpoint}: ${typeof code === 'string' ? `${code}: ` : ''}${text}`;
}

/** The handshake Ping's failure, in words that name its cause. */
function describeHandshakeFailure(endpoint: string, timeoutMs: number, error: unknown, tls: boolean): string {
  const connectError = ConnectError.from(error);
  if (connectError.code === Code.Unauthenticated) return `endpoint ${endpoint} refused the token (${connectError.rawMessage})`;
  if (connectError.code === Code.DeadlineExceeded) return `endpoint ${endpoint} did not answer the handshake within ${timeoutMs} ms`;
  const cause = connectError.cause instanceof Error ? `: ${connectError.cause.message}` : '';
  // A server that drops the connection before any answer has refused how we connected.
  const hint =
    connectError.code !== Code.Unavailable
      ? ''
      : tls
        ? '; the server closed the connection after the TLS handshake: it probably requires a client certificate (tls.cert, tls.key) signed by its --tls-client-ca, and got none or another'
        : '; the server closed the connection: it probably serves TLS (give tls instead of plaintext)';
  return `handshake with ${endpoint} failed: ${Code[connectError.code]}: ${connectError.rawMessage}${cause}${hint}`;
}

function withinMs<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      reject(onTimeout());
    }, timeoutMs);
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}

/** The connection as the worker's life. */
function connectionLifetime(endpoint: string, transport: GrpcHttp2Transport): WorkerLifetime {
  const exited: Promise<WorkerExitInfo> = transport.ended.then((cause) => ({
    code: null,
    signal: null,
    reason:
      cause === undefined
        ? `the connection to ${endpoint} closed`
        : `the connection to ${endpoint} was lost (${cause instanceof Error ? cause.message : String(cause)})`,
  }));
  return {
    exited,
    draining: transport.goingAway,
    async stop(graceMs) {
      transport.close();
      const timer = setTimeout(() => transport.destroy(), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Connects to a worker server and resolves once it is ready to take calls. */
export async function connectGrpcWorker(settings: RemoteGrpcWorkerSettings): Promise<AdapterWorkerV1> {
  const { endpoint, signal } = settings;
  const address = parseEndpoint(endpoint);
  if (address === undefined) throw errors.invalidParameter('endpoint', `"${endpoint}" is not "host:port"`);
  const tls = settings.tls === 'plaintext' ? undefined : settings.tls;
  const serverName = tls?.serverName ?? address.host;
  const authority = address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
  const transport = createGrpcHttp2Transport({
    baseUrl: `${tls === undefined ? 'http' : 'https'}://${authority}`,
    readMaxBytes: settings.maxMessageBytes,
    reconnect: false,
    ...(tls === undefined
      ? {}
      : {
          tls: {
            ca: tls.ca,
            ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
            ...(tls.key !== undefined ? { key: tls.key } : {}),
            // An IP address is no TLS server name (RFC 6066); without one, the IP SANs are checked.
            ...(isIP(serverName) === 0 ? { servername: serverName } : {}),
          },
        }),
  });
  const fail = (message: string, cause: unknown): SnakepitError => {
    transport.destroy();
    if (signal.aborted && SnakepitError.isInstance(signal.reason)) return signal.reason;
    return errors.startupFailed(`worker ${settings.workerId}: ${message}`, {
      cause,
      details: { workerId: settings.workerId, endpoint },
    });
  };
  try {
    await withinMs(transport.connect(), settings.connectTimeoutMs, signal, () => new Error('timeout'));
  } catch (error) {
    const timedOut = error instanceof Error && error.message === 'timeout' && !signal.aborted;
    throw fail(
      timedOut ? `could not connect to ${endpoint} within ${settings.connectTimeoutMs} ms` : describeConnectFailure(endpoint, serverName, error),
      error,
    );
  }
  const client = createClient(WorkerService, transport);
  let info;
  try {
    const response = await client.ping(
      { message: 'handshake' },
      { timeoutMs: settings.handshakeTimeoutMs, signal, headers: { [authorizationHeader]: `Bearer ${settings.token}` } },
    );
    info = response.info;
  } catch (error) {
    throw fail(describeHandshakeFailure(endpoint, settings.handshakeTimeoutMs, error, tls !== undefined), error);
  }
  const reported = info === undefined ? {} : (toJson(WorkerInfoSchema, info, { useProtoFieldName: true, alwaysEmitImplicit: true }) as Record<string, unknown>);
  const capacity = Number(reported.capacity ?? 0);
  return new GrpcWorker(
    settings.workerId,
    connectionLifetime(endpoint, transport),
    transport,
    settings.token,
    capacity >= 1 ? capacity : 1,
    Object.freeze({ ...reported, endpoint }),
    { channelMaxRequestBytes: settings.channelMaxRequestBytes, hostRequests: settings.hostRequests },
  );
}
