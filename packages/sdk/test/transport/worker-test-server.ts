/**
 * Test fixture: a real HTTP/2 gRPC server (connect-node's router, gRPC protocol only) serving a
 * scripted WorkerService on 127.0.0.1:0, plus raw HTTP/2 answers under path prefixes for protocol
 * corner cases connect's server never produces. Records what the server observed so tests can
 * assert on the server side of cancellation and backpressure.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { WorkerService, type CallsResponseSchema } from '../../src/gen/snakepit/bridge/v1/worker_pb.js';
import { encodeEnvelope } from '../../src/transport/grpc-framing.js';

export interface ServerObservations {
  /** Tool names whose handler saw its signal abort (client cancel, deadline, or reset). */
  aborted: string[];
  /** Messages each streaming tool had yielded, by tool name. */
  yielded: Map<string, number>;
  /** Request headers of the last ping. */
  lastHeaders: Headers | undefined;
  /** Highest number of executeTool handlers running at once. */
  peakConcurrency: number;
  /** Tool names whose executeTool handler started, in order. */
  started: string[];
  /** Call ids of the cancel frames the call channel received. */
  cancelledCalls: number[];
}

export interface WorkerTestServer {
  readonly baseUrl: string;
  readonly observed: ServerObservations;
  /** Lets a gated stream ("gated" tool) send its next message. */
  openGate(): void;
  /** Resolves when a handler for `tool` has observed its abort. */
  abortSeen(tool: string): Promise<void>;
  /** Destroys every server-side HTTP/2 session (simulates a worker dying). */
  destroySessions(): void;
  /** Sends GOAWAY on every session and closes them gracefully. */
  closeSessions(): void;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

type CallsResponseInit = MessageInitShape<typeof CallsResponseSchema>;

export async function startWorkerTestServer(settings: http2.Settings = {}): Promise<WorkerTestServer> {
  const observed: ServerObservations = {
    aborted: [],
    started: [],
    yielded: new Map(),
    lastHeaders: undefined,
    peakConcurrency: 0,
    cancelledCalls: [],
  };
  const abortWaiters = new Map<string, (() => void)[]>();
  const gates: (() => void)[] = [];
  let openGates = 0;
  let running = 0;

  function noteAbort(tool: string, context: HandlerContext): void {
    context.signal.addEventListener('abort', () => {
      observed.aborted.push(tool);
      for (const wake of abortWaiters.get(tool) ?? []) wake();
      abortWaiters.delete(tool);
    });
  }

  function passGate(): Promise<void> {
    if (openGates > 0) {
      openGates--;
      return Promise.resolve();
    }
    return new Promise((resolve) => gates.push(resolve));
  }

  function countYield(tool: string): void {
    observed.yielded.set(tool, (observed.yielded.get(tool) ?? 0) + 1);
  }

  const handler = connectNodeAdapter({
    grpc: true,
    connect: false,
    grpcWeb: false,
    readMaxBytes: 64 * 1024 * 1024,
    routes(router) {
      router.service(WorkerService, {
        async ping(request, context) {
          observed.lastHeaders = new Headers(context.requestHeader);
          noteAbort(`ping:${request.message}`, context);
          if (request.message === 'fail') {
            context.responseHeader.set('x-header-meta', 'h');
            throw new ConnectError('bad thing: 100% ✓\nnext line', Code.FailedPrecondition, { 'x-error-detail': 'abc' });
          }
          if (request.message === 'hang') {
            await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve()));
            throw new ConnectError('aborted', Code.Canceled);
          }
          context.responseHeader.set('x-header-meta', 'h');
          context.responseTrailer.set('x-trailer-meta', 't');
          return { message: `pong:${request.message}` };
        },
        async executeTool(request, context) {
          running++;
          observed.peakConcurrency = Math.max(observed.peakConcurrency, running);
          observed.started.push(request.call?.toolName ?? '');
          try {
            const call = request.call;
            const delayMs = Number(call?.metadata['delay-ms'] ?? 0);
            if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
            const size = Number(call?.metadata['response-bytes'] ?? -1);
            const payload = size >= 0 ? new Uint8Array(size).fill(7) : (call?.binaryParameters['payload'] ?? new Uint8Array());
            void context;
            return { result: { kind: { case: 'binary', value: payload } }, metadata: { tool: call?.toolName ?? '' } };
          } finally {
            running--;
          }
        },
        /**
         * The call channel: "echo" answers with its call id as JSON after the call's `delay-ms`
         * metadata, "hang" never answers, "break" destroys every session.
         */
        async *calls(requests, context) {
          const answers: CallsResponseInit[] = [];
          let wake: (() => void) | undefined;
          let reading = true;
          // Like the Python worker, calls still running when the client half-closes get their answers.
          let unanswered = 0;
          const answer = (message: CallsResponseInit) => {
            unanswered--;
            answers.push(message);
            wake?.();
          };
          void (async () => {
            for await (const frame of requests) {
              if (frame.kind.case === 'cancel') {
                observed.cancelledCalls.push(frame.callId);
              } else if (frame.kind.case === 'call') {
                const call = frame.kind.value.call;
                const callId = frame.callId;
                if (call?.toolName === 'break') destroySessions();
                if (call?.toolName !== 'echo') continue;
                const result = { kind: { case: 'json' as const, value: encoder.encode(String(callId)) } };
                unanswered++;
                setTimeout(() => answer({ callId, response: { result } }), Number(call.metadata['delay-ms'] ?? 0));
              }
            }
          })()
            // The client's side ending abruptly (a test breaking the channel) is not a server failure.
            .catch(() => {})
            .finally(() => {
              reading = false;
              wake?.();
            });
          while (reading || unanswered > 0 || answers.length > 0) {
            if (answers.length === 0) await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            yield* answers.splice(0);
            if (context.signal.aborted) return;
          }
        },
        async *executeStreamingTool(request, context) {
          const tool = request.call?.toolName ?? '';
          noteAbort(tool, context);
          // One chunk per message, so tests can count messages.
          const chunk = (index: number, size = 0) => ({
            chunks: [
              { data: { kind: { case: 'json' as const, value: size > 0 ? new Uint8Array(size) : encoder.encode(String(index)) } } },
            ],
          });
          if (tool === 'count') {
            for (let index = 0; index < 5; index++) {
              countYield(tool);
              yield chunk(index);
            }
            yield { chunks: [{ isFinal: true }] };
          } else if (tool === 'gated') {
            for (let index = 0; index < 3; index++) {
              if (index > 0) await passGate();
              countYield(tool);
              yield chunk(index);
            }
          } else if (tool === 'endless') {
            for (let index = 0; !context.signal.aborted; index++) {
              countYield(tool);
              yield chunk(index);
              await new Promise((resolve) => setTimeout(resolve, 2));
            }
          } else if (tool === 'flood') {
            for (let index = 0; index < 4000 && !context.signal.aborted; index++) {
              countYield(tool);
              yield chunk(index, 64 * 1024);
            }
          } else if (tool === 'die') {
            yield chunk(0);
            yield chunk(1);
            await new Promise((resolve) => setTimeout(resolve, 20));
            destroySessions();
            await new Promise((resolve) => setTimeout(resolve, 1000));
          } else if (tool === 'fail-after-two') {
            yield chunk(0);
            yield chunk(1);
            throw new ConnectError('tool crashed', Code.Aborted, { 'x-crash': 'yes' });
          }
        },
      });
    },
    fallback(request, response) {
      const stream = (request as http2.Http2ServerRequest).stream;
      const grpcOk = { ':status': 200, 'content-type': 'application/grpc' };
      const path = request.url ?? '';
      if (path.startsWith('/trailers-only/')) {
        stream.respond(
          { ...grpcOk, 'grpc-status': '7', 'grpc-message': 'no%20access%20%E2%9C%93 %zz', 'x-reason': 'quota' },
          { endStream: true },
        );
      } else if (path.startsWith('/no-status/')) {
        stream.respond(grpcOk);
        stream.end(encodeEnvelope(new Uint8Array()));
      } else if (path.startsWith('/http-503/')) {
        stream.respond({ ':status': 503 }, { endStream: true });
      } else if (path.startsWith('/refuse/')) {
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      } else if (path.startsWith('/truncated/')) {
        response.writeHead(200, { 'content-type': 'application/grpc' });
        response.addTrailers({ 'grpc-status': '0' });
        response.end(encodeEnvelope(new Uint8Array(10)).subarray(0, 8));
      } else {
        response.writeHead(404);
        response.end();
      }
    },
  });

  const server = http2.createServer({ settings }, handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  // Server-side sockets must not keep the loop alive, so tests can see what the client holds.
  server.on('connection', (socket: { unref(): void }) => socket.unref());
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {});
  });
  function destroySessions(): void {
    for (const session of sessions) session.destroy();
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    observed,
    openGate() {
      const next = gates.shift();
      if (next) next();
      else openGates++;
    },
    abortSeen(tool) {
      if (observed.aborted.includes(tool)) return Promise.resolve();
      return new Promise((resolve) => {
        const waiters = abortWaiters.get(tool) ?? [];
        waiters.push(resolve);
        abortWaiters.set(tool, waiters);
      });
    },
    destroySessions,
    closeSessions() {
      for (const session of sessions) session.close();
    },
    close() {
      destroySessions();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
