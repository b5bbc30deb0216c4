/**
 * Host requests that arrive on a worker's call channel instead of through the bridge server: a
 * worker run as a service reaches the host on the connection the pool opened (PROTOCOL.md §13b), so
 * no port opens on Node and it works through NAT and load balancers. Each request names a
 * HostService method and carries its serialized request; it runs through the very handlers the
 * bridge server uses (same decoding, store, host tools and error translation), and its answer
 * carries the response or the status and trailers the same gRPC call would have ended with.
 *
 * The connection is already authenticated (the pool presented the worker's token when it opened
 * it, and TLS names the server), so a request needs no token of its own. Worker housekeeping
 * methods (Heartbeat, RegisterTools) are refused: a remote worker has neither.
 */
import { create, fromBinary, toBinary, type DescMethodUnary } from '@bufbuild/protobuf';
import { Code, ConnectError, createHandlerContext, type HandlerContext } from '@connectrpc/connect';
import { errors } from '../errors.js';
import { HostService } from '../gen/snakepit/bridge/v1/host_pb.js';
import { errorCodeTrailer, errorDetailsTrailer, translateFailure, type BridgeLogger } from './error-translation.js';
import { createHostServiceHandlers, type HostServiceHandlerDependencies } from './host-service-handlers.js';

/** One host request as a worker sent it. */
export interface HostRequest {
  /** A HostService method name, e.g. "GetSessionState". */
  method: string;
  /** The method's request message, serialized. */
  payload: Uint8Array;
  /** x-snakepit-correlation-id, traceparent, tracestate. */
  headers: Record<string, string>;
  /** The worker waits this long for the answer; 0: until its call ends. */
  timeoutMs: number;
}

/** A host request's answer (the `HostAnswer` message without its id, which the channel adds). */
export interface HostAnswer {
  /** The method's response, serialized, when `statusCode` is 0 or unset. */
  payload?: Uint8Array;
  /** The gRPC status code the same HostService call would have ended with. */
  statusCode?: number;
  statusMessage?: string;
  /** The `snakepit-error-code` trailer. */
  errorCode?: string;
  /** The `snakepit-error-details-bin` trailer (JSON). */
  errorDetailsJson?: Uint8Array;
}

/** Runs one host request; always resolves (a failure is an answer too). `signal` fires when nobody waits for it any more. */
export type HostRequestHandler = (request: HostRequest, signal: AbortSignal) => Promise<HostAnswer>;

/** The methods a worker may call on its channel. */
const tunnelled = new Set([
  'InitializeSession',
  'GetSession',
  'CleanupSession',
  'GetSessionState',
  'SetSessionState',
  'DeleteSessionState',
  'ListHostTools',
  'ExecuteHostTool',
]);

type AnyUnaryMethod = DescMethodUnary;
type AnyUnaryImpl = (request: unknown, context: HandlerContext) => Promise<unknown>;

function failureAnswer(error: ConnectError): HostAnswer {
  const details = error.metadata.get(errorDetailsTrailer);
  return {
    statusCode: error.code,
    statusMessage: error.rawMessage,
    errorCode: error.metadata.get(errorCodeTrailer) ?? '',
    errorDetailsJson: details === null ? new Uint8Array() : Buffer.from(details, 'base64'),
  };
}

export function createHostRequestHandler(dependencies: HostServiceHandlerDependencies): HostRequestHandler {
  const handlers = createHostServiceHandlers(dependencies) as unknown as Record<string, AnyUnaryImpl>;
  const logger: BridgeLogger = dependencies.logger;
  const methods = new Map<string, { method: AnyUnaryMethod; impl: AnyUnaryImpl }>();
  for (const method of HostService.methods) {
    if (method.methodKind !== 'unary' || !tunnelled.has(method.name)) continue;
    methods.set(method.name, { method: method as AnyUnaryMethod, impl: handlers[method.localName] as AnyUnaryImpl });
  }

  return async (request, signal) => {
    const entry = methods.get(request.method);
    if (entry === undefined) {
      const name = request.method.slice(0, 64);
      return failureAnswer(new ConnectError(`the host does not serve "${name}" on the call channel`, Code.Unimplemented));
    }
    const { method, impl } = entry;
    let context: ReturnType<typeof createHandlerContext> | undefined;
    try {
      let input;
      try {
        input = fromBinary(method.input, request.payload);
      } catch (error) {
        throw errors.invalidParameter('payload', `not a ${method.input.typeName} message`, error);
      }
      context = createHandlerContext({
        service: HostService,
        method,
        protocolName: 'snakepit-call-channel',
        requestMethod: 'POST',
        url: `/${HostService.typeName}/${method.name}`,
        requestSignal: signal,
        requestHeader: request.headers,
        ...(request.timeoutMs > 0 ? { timeoutMs: request.timeoutMs } : {}),
      });
      const output = await impl(input, context);
      return { payload: toBinary(method.output, create(method.output, output as never)) };
    } catch (error) {
      return failureAnswer(translateFailure(error, method.name, logger));
    } finally {
      // As connect's own handlers do once a call is over: stops the deadline timer and unhooks the
      // context from `signal`, which the call channel shares among all its host requests.
      context?.abort();
    }
  };
}
