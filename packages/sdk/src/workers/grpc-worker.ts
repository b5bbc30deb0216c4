/**
 * A started worker reached over gRPC: a process of ours on loopback, or a worker server on another
 * host (remote-grpc-worker.ts). Translates pool calls into WorkerService calls and wire messages
 * into plain values, and tells a dead worker apart from a failed call: a worker that dies mid-call
 * shows up as a gRPC `Canceled`, so its lifetime (process exit, lost connection) is consulted
 * before an error is reported. A worker's refusal for want of room (`worker_busy`, a remote worker
 * other pools share) becomes `errors.workerRefused`, which the pool puts back rather than fails.
 *
 * With a host request handler the worker's host requests travel on its call channel
 * (PROTOCOL.md §13b): the channel and every RPC carry the connection's link id, so the worker
 * sends the host requests of any call made on this connection back on this channel.
 *
 * Unary calls whose arguments fit `channelMaxRequestBytes` travel on the worker's call channel
 * (call-channel.ts); larger ones keep their own ExecuteTool RPC, so a large payload never holds up
 * small calls behind it. Streams keep ExecuteStreamingTool, whose messages carry batches of chunks.
 */
import { randomBytes } from 'node:crypto';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import type { AdapterWorkerV1, CallContext, CallRequest, WorkerExitInfo } from '../adapter/v1/adapter.js';
import type { HostRequestHandler } from '../bridge/host-requests.js';
import { errorCodeTrailer, errorDetailsTrailer } from '../bridge/error-translation.js';
import { decodeToolSpecs } from '../bridge/request-decoding.js';
import { errors, SnakepitError } from '../errors.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ToolCallSchema } from '../gen/snakepit/bridge/v1/common_pb.js';
import { WorkerService, type ExecuteToolResponse } from '../gen/snakepit/bridge/v1/worker_pb.js';
import type { WorkerToolSpec } from '../tools/worker-tool-catalog.js';
import { toChunk } from '../wire/chunk.js';
import type { Chunk } from '../wire/chunk.js';
import { authorizationHeader, correlationHeader, hostLinkHeader } from '../wire/headers.js';
import { fromToolError } from '../wire/tool-error.js';
import type { GrpcHttp2Transport } from '../transport/index.js';
import { decodeToolValue, toChunkPayload } from '../wire/tool-value.js';
import { CallChannel, ChannelBroken } from './call-channel.js';

/** How long to wait for the process to be seen dead after its call broke. */
const exitGraceMs = 250;

/** Bound of a session notice (its adapter hook included). */
const sessionNoticeTimeoutMs = 10_000;

/** What a worker's life is: a process of ours, or a connection to a remote server. */
export interface WorkerLifetime {
  readonly pid?: number | undefined;
  /** Resolves once, when the worker is gone (process exited, connection lost). */
  readonly exited: Promise<WorkerExitInfo>;
  /** Resolves when the worker announced it takes no new calls. */
  readonly draining?: Promise<void>;
  /** Graceful for `graceMs`, then forced; resolves once the worker is gone. */
  stop(graceMs: number): Promise<unknown>;
}

export interface GrpcWorkerOptions {
  /** Largest encoded request (arguments, metadata, ids) of a unary call sent on the call channel; 0: no channel. */
  channelMaxRequestBytes: number;
  /** Serve the worker's host requests on its call channel (then always opened). */
  hostRequests?: HostRequestHandler | undefined;
}

const headerName = /^[a-z0-9][a-z0-9_.-]*$/;
const headerValue = /^[\x20-\x7e]*$/;

/**
 * Adds the propagator's trace headers. One that is malformed, or that would replace a header the
 * call depends on (authorization, the correlation id, gRPC's own), is left out rather than let a
 * third-party propagator break or hijack the call.
 */
function addTraceHeaders(headers: Record<string, string>, traceContext: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(traceContext)) {
    const name = key.toLowerCase();
    if (name in headers || name.startsWith('grpc-') || !headerName.test(name)) continue;
    if (name === 'content-type' || name === 'te' || name === 'user-agent') continue;
    if (typeof value !== 'string' || !headerValue.test(value)) continue;
    headers[name] = value;
  }
  return headers;
}

/**
 * An upper bound of what a call adds to a channel frame: its arguments' bytes, and its strings at
 * three bytes per UTF-16 unit (UTF-8's worst case), so a frame never outgrows the threshold by more
 * than the frame's fixed fields.
 */
function requestBytes(request: CallRequest): number {
  const { args, metadata } = request;
  let bytes = 3 * (request.tool.length + request.correlationId.length + (request.sessionId?.length ?? 0));
  for (const key in args.json) bytes += 3 * key.length + (args.json[key] as Uint8Array).byteLength;
  for (const key in args.binary) bytes += 3 * key.length + (args.binary[key] as Uint8Array).byteLength;
  if (metadata !== undefined) for (const key in metadata) bytes += 3 * (key.length + (metadata[key] as string).length);
  return bytes;
}

/** The `reason` of a refusal's details trailer (`capacity`, `queue_timeout`, `draining`). */
function busyReason(error: ConnectError): string {
  const details = error.metadata.get(errorDetailsTrailer);
  try {
    const parsed: unknown = details === null ? undefined : JSON.parse(Buffer.from(details, 'base64').toString('utf8'));
    const reason = (parsed as { reason?: unknown } | undefined)?.reason;
    return typeof reason === 'string' ? reason : 'busy';
  } catch {
    return 'busy';
  }
}

export class GrpcWorker implements AdapterWorkerV1 {
  readonly pid: number | undefined;
  readonly exited: Promise<WorkerExitInfo>;
  readonly draining: Promise<void> | undefined;
  private readonly client: Client<typeof WorkerService>;
  private readonly authorization: string;
  private readonly channelMaxRequestBytes: number;
  private readonly hostRequests: HostRequestHandler | undefined;
  /** Headers every call RPC carries: the token, and the host link when host requests come on the channel. */
  private readonly connectionHeaders: Record<string, string>;
  private channel: CallChannel | undefined;

  constructor(
    readonly id: string,
    private readonly lifetime: WorkerLifetime,
    private readonly transport: GrpcHttp2Transport,
    token: string,
    readonly capacity: number,
    readonly info: Readonly<Record<string, unknown>>,
    options: GrpcWorkerOptions,
  ) {
    this.pid = lifetime.pid;
    this.exited = lifetime.exited;
    this.draining = lifetime.draining;
    this.authorization = `Bearer ${token}`;
    this.channelMaxRequestBytes = options.channelMaxRequestBytes;
    this.hostRequests = options.hostRequests;
    this.connectionHeaders = { [authorizationHeader]: this.authorization };
    if (this.hostRequests !== undefined) this.connectionHeaders[hostLinkHeader] = randomBytes(16).toString('hex');
    this.client = createClient(WorkerService, this.transport);
    // Opened now, so the first call does not pay for it (and host requests have their way back).
    if (this.channelMaxRequestBytes > 0 || this.hostRequests !== undefined) this.openChannel();
    // A dead worker's connection can only fail; release it at once.
    void this.exited.then(() => this.transport.destroy());
  }

  /** The channel for the next call: the open one, or a new one after the last broke. */
  private openChannel(): CallChannel {
    let channel = this.channel;
    if (channel === undefined || !channel.usable) {
      channel = new CallChannel(this.client, this.connectionHeaders, this.hostRequests);
      this.channel = channel;
    }
    return channel;
  }

  private callOptions(request: CallRequest, context: CallContext) {
    // The channel must be open for the worker to send this call's host requests back.
    if (this.hostRequests !== undefined) this.openChannel();
    const headers: Record<string, string> = { ...this.connectionHeaders, [correlationHeader]: request.correlationId };
    if (request.traceContext !== undefined) addTraceHeaders(headers, request.traceContext);
    return { signal: context.signal, timeoutMs: Math.max(1, Math.ceil(context.deadline - Date.now())), headers };
  }

  private static message(request: CallRequest): { call: MessageInitShape<typeof ToolCallSchema> } {
    return {
      call: {
        toolName: request.tool,
        sessionId: request.sessionId ?? '',
        jsonParameters: request.args.json,
        binaryParameters: request.args.binary,
        metadata: request.metadata ?? {},
      },
    };
  }

  async doExecute(request: CallRequest, context: CallContext): Promise<unknown> {
    let response: ExecuteToolResponse;
    try {
      response =
        requestBytes(request) <= this.channelMaxRequestBytes
          ? await this.openChannel().execute(GrpcWorker.channelCall(request, context), context.signal)
          : await this.client.executeTool(GrpcWorker.message(request), this.callOptions(request, context));
    } catch (error) {
      throw await this.translate(error instanceof ChannelBroken ? error.cause : error, request, context);
    }
    if (response.error) throw this.refusalOr(fromToolError(response.error, { tool: request.tool, workerId: this.id }));
    return decodeToolValue(response.result);
  }

  /** An in-band `worker_busy` (a call refused on the channel for want of room) as the refusal the pool puts back. */
  private refusalOr(error: SnakepitError): SnakepitError {
    if (error.code !== 'worker_busy') return error;
    return errors.workerRefused(this.id, String(error.details.reason ?? 'busy'), error.message);
  }

  /** A call on the channel carries what a unary RPC sends as metadata and as its deadline. */
  private static channelCall(request: CallRequest, context: CallContext) {
    const headers: Record<string, string> = { [correlationHeader]: request.correlationId };
    return {
      ...GrpcWorker.message(request),
      timeoutMs: Math.max(1, Math.ceil(context.deadline - Date.now())),
      headers: request.traceContext === undefined ? headers : addTraceHeaders(headers, request.traceContext),
    };
  }

  async *doStream(request: CallRequest, context: CallContext): AsyncIterable<Chunk> {
    let sawFinal = false;
    try {
      for await (const response of this.client.executeStreamingTool(
        GrpcWorker.message(request),
        this.callOptions(request, context),
      )) {
        // Every chunk that was ready when the worker wrote; the caller still sees them one by one.
        for (const chunk of response.chunks) {
          if (chunk.error) throw this.refusalOr(fromToolError(chunk.error, { tool: request.tool, workerId: this.id }));
          sawFinal = chunk.isFinal;
          yield toChunk(toChunkPayload(chunk.data), chunk.isFinal, chunk.metadata);
          if (sawFinal) return;
        }
      }
    } catch (error) {
      if (SnakepitError.isInstance(error)) throw error;
      throw await this.translate(error, request, context);
    }
    if (!sawFinal) {
      throw errors.transport(`stream of "${request.tool}" ended without a final chunk`, undefined, { workerId: this.id });
    }
  }

  async doPing(timeoutMs: number): Promise<void> {
    try {
      await this.client.ping({ message: 'ping' }, { timeoutMs, headers: { authorization: this.authorization } });
    } catch (error) {
      throw errors.transport(`worker ${this.id} did not answer a ping within ${timeoutMs} ms`, error, { workerId: this.id });
    }
  }

  /** DescribeTools, its specs validated as RegisterTools' are (unique names, JSON parameters). */
  async doDescribeTools(timeoutMs: number): Promise<WorkerToolSpec[]> {
    let response;
    try {
      response = await this.client.describeTools({}, { timeoutMs, headers: { [authorizationHeader]: this.authorization } });
    } catch (error) {
      const connectError = ConnectError.from(error);
      const why = connectError.code === Code.DeadlineExceeded ? `did not answer within ${timeoutMs} ms` : `failed: ${connectError.rawMessage}`;
      throw errors.transport(`DescribeTools of worker ${this.id} ${why}`, error, { workerId: this.id, grpcCode: Code[connectError.code] });
    }
    return decodeToolSpecs(response.tools);
  }

  // Session notices run adapter hooks; a worker that never answers must not keep them pending.
  async doBeginSession(sessionId: string): Promise<void> {
    await this.client.beginSession({ sessionId }, { headers: { authorization: this.authorization }, timeoutMs: sessionNoticeTimeoutMs });
  }

  async doEndSession(sessionId: string): Promise<void> {
    await this.client.endSession({ sessionId }, { headers: { authorization: this.authorization }, timeoutMs: sessionNoticeTimeoutMs });
  }

  async doStop(options: { graceMs: number }): Promise<void> {
    this.channel?.close();
    await this.lifetime.stop(options.graceMs);
    this.transport.destroy();
  }

  private async translate(error: unknown, request: CallRequest, context: CallContext): Promise<SnakepitError> {
    if (context.signal.aborted && SnakepitError.isInstance(context.signal.reason)) return context.signal.reason;
    const connectError = ConnectError.from(error);
    if (connectError.code === Code.DeadlineExceeded) {
      return new SnakepitError('timeout', `call to "${request.tool}" exceeded its deadline`, {
        details: { tool: request.tool, workerId: this.id },
        cause: error,
      });
    }
    if (connectError.code === Code.ResourceExhausted && connectError.metadata.get(errorCodeTrailer) === 'worker_busy') {
      return errors.workerRefused(this.id, busyReason(connectError), connectError.rawMessage);
    }
    const exit = await Promise.race([
      this.lifetime.exited,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), exitGraceMs).unref()),
    ]);
    if (exit !== undefined) return errors.workerExit(this.id, exit);
    if (connectError.code === Code.Unauthenticated) {
      return new SnakepitError('unauthenticated', connectError.rawMessage, { cause: error, details: { workerId: this.id } });
    }
    return errors.transport(`call to "${request.tool}" failed: ${connectError.rawMessage}`, error, {
      workerId: this.id,
      grpcCode: Code[connectError.code],
    });
  }
}
