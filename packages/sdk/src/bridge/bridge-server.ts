/**
 * The host bridge: a gRPC server (Connect over HTTP/2 cleartext) that workers call for sessions,
 * heartbeats and host tools. It listens on 127.0.0.1 only, on a port the OS picks, and refuses
 * every call that does not present the pool's secret token, which workers receive privately at
 * spawn (never in argv, where other local users could read it).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import http2 from 'node:http2';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { errors, hostErrors } from '../errors.js';
import { HostService } from '../gen/snakepit/bridge/v1/host_pb.js';
import { silentLogger } from '../observability/logging.js';
import type { SessionStore } from '../session/session-store.js';
import type { HostToolRegistry } from '../tools/host-tool-registry.js';
import type { WorkerToolCatalog } from '../tools/worker-tool-catalog.js';
import { toConnectError, translateFailure, type BridgeLogger } from './error-translation.js';
import { createHostServiceHandlers } from './host-service-handlers.js';
import { authorizationHeader } from '../wire/headers.js';

export interface BridgeServerOptions {
  sessions: SessionStore;
  tools: HostToolRegistry;
  workerTools: WorkerToolCatalog;
  /** The per-pool secret every call must present as `authorization: Bearer <token>`. */
  token: string;
  /** Pino-shaped; only `debug`, `warn` and `error` are used. Default: silent. */
  logger?: BridgeLogger;
  /** Called with the worker id of every authenticated, well-formed Heartbeat. */
  onHeartbeat?: (workerId: string) => void;
  /** Largest request or response message. Default 256 MiB. */
  maxMessageBytes?: number;
  /** How long `close()` lets in-flight calls finish before cutting connections. Default 500 ms. */
  closeGraceMs?: number;
}

export interface BridgeServer {
  /** "127.0.0.1:PORT", for the workers' start context. */
  readonly address: string;
  /** Stops accepting calls, cancels in-flight host tool calls and closes connections. Idempotent. */
  close(): Promise<void>;
}

export const hostBridgeDefaults = Object.freeze({
  maxMessageBytes: 256 * 1024 * 1024,
  closeGraceMs: 500,
});

/**
 * Compares the presented header with the expected one in constant time. Both are hashed first so
 * the buffers given to timingSafeEqual always have equal length and not even the token's length leaks.
 */
function createTokenCheck(token: string): (presented: string | null) => boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  const expected = digest(`Bearer ${token}`);
  return (presented) => presented !== null && timingSafeEqual(digest(presented), expected);
}

function validateOptions(options: BridgeServerOptions): { maxMessageBytes: number; closeGraceMs: number } {
  if (typeof options.token !== 'string' || options.token.length === 0) throw errors.invalidParameter('token', 'empty');
  if (options.sessions === undefined) throw errors.invalidParameter('sessions', 'missing');
  if (options.tools === undefined) throw errors.invalidParameter('tools', 'missing');
  if (options.workerTools === undefined) throw errors.invalidParameter('workerTools', 'missing');
  const maxMessageBytes = options.maxMessageBytes ?? hostBridgeDefaults.maxMessageBytes;
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 1) {
    throw errors.invalidParameter('maxMessageBytes', 'must be a positive integer');
  }
  const closeGraceMs = options.closeGraceMs ?? hostBridgeDefaults.closeGraceMs;
  if (!Number.isSafeInteger(closeGraceMs) || closeGraceMs < 0) {
    throw errors.invalidParameter('closeGraceMs', 'must be a non-negative integer');
  }
  return { maxMessageBytes, closeGraceMs };
}

/** Starts the bridge; resolves once it listens. */
export async function startBridgeServer(options: BridgeServerOptions): Promise<BridgeServer> {
  const { maxMessageBytes, closeGraceMs } = validateOptions(options);
  const logger: BridgeLogger = options.logger ?? silentLogger;
  const isAuthorized = createTokenCheck(options.token);
  const shutdown = new AbortController();
  // Every in-flight call listens on this signal; many concurrent calls are normal, not a leak.
  setMaxListeners(0, shutdown.signal);

  // One interceptor in front of every method: authentication first, then one translation of
  // whatever a handler throws, so no method can answer with an untyped error.
  const guard: Interceptor = (next) => async (request) => {
    if (!isAuthorized(request.header.get(authorizationHeader))) {
      logger.warn({ method: request.method.name }, 'host bridge call without a valid token refused');
      throw toConnectError(hostErrors.unauthenticated());
    }
    try {
      return await next(request);
    } catch (error) {
      throw translateFailure(error, request.method.name, logger);
    }
  };

  const handler = connectNodeAdapter({
    routes(router) {
      router.service(
        HostService,
        createHostServiceHandlers({
          sessions: options.sessions,
          tools: options.tools,
          workerTools: options.workerTools,
          logger,
          onHeartbeat: options.onHeartbeat,
        }),
      );
    },
    interceptors: [guard],
    grpc: true,
    // Workers speak gRPC only; the other protocols would be untested surface.
    connect: false,
    grpcWeb: false,
    readMaxBytes: maxMessageBytes,
    writeMaxBytes: maxMessageBytes,
    shutdownSignal: shutdown.signal,
  });

  const server = http2.createServer(handler);
  const connections = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    connections.add(session);
    session.on('close', () => connections.delete(session));
    // A broken connection is that worker's problem; without a listener it would crash Node.
    session.on('error', (error) => logger.debug({ err: error }, 'host bridge connection error'));
  });
  server.on('error', (error) => logger.error({ err: error }, 'host bridge server error'));

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(errors.startupFailed(`host bridge could not listen: ${error.message}`, { cause: error }));
    server.once('error', onError);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') {
    server.close();
    throw hostErrors.internal('host bridge has no TCP address');
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      // Host tool handlers see their signal fire, so long-running ones can stop.
      shutdown.abort(new ConnectError('host bridge is closing', Code.Unavailable));
      server.close(() => resolve());
      for (const session of connections) session.close();
      // Workers keep their connection open between calls; cut what is still open after the grace.
      const timer = setTimeout(() => {
        for (const session of connections) session.destroy();
      }, closeGraceMs);
      timer.unref();
      server.once('close', () => clearTimeout(timer));
    });
    return closing;
  };

  return Object.freeze({ address: `127.0.0.1:${bound.port}`, close });
}
