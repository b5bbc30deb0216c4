import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import {
  ExecuteStreamingToolRequestSchema,
  WorkerService,
  type ExecuteStreamingToolResponse,
} from '../../src/gen/snakepit/bridge/v1/worker_pb.js';
import { createGrpcHttp2Transport, type GrpcHttp2Transport, type GrpcHttp2TransportOptions } from '../../src/transport/index.js';
import { startWorkerTestServer, type WorkerTestServer } from './worker-test-server.js';

const decoder = new TextDecoder();
let server: WorkerTestServer;
const transports: GrpcHttp2Transport[] = [];

function transport(options: Partial<GrpcHttp2TransportOptions> = {}, target = server): GrpcHttp2Transport {
  const created = createGrpcHttp2Transport({ baseUrl: target.baseUrl, ...options });
  transports.push(created);
  return created;
}

function client(options: Partial<GrpcHttp2TransportOptions> = {}) {
  return createClient(WorkerService, transport(options));
}

async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    return error as ConnectError;
  }
  throw new Error('expected the call to fail');
}

function streamRequest(toolName: string): AsyncIterable<MessageInitShape<typeof ExecuteStreamingToolRequestSchema>> {
  return (async function* () {
    yield create(ExecuteStreamingToolRequestSchema, { call: { toolName } });
  })();
}

/** The test server sends one chunk per message. */
function chunkText(response: ExecuteStreamingToolResponse): string {
  return decoder.decode(response.chunks[0]?.data?.kind.value ?? new Uint8Array());
}

function isFinal(response: ExecuteStreamingToolResponse): boolean {
  return response.chunks[0]?.isFinal ?? false;
}

beforeAll(async () => {
  server = await startWorkerTestServer();
});

afterEach(() => {
  for (const created of transports.splice(0)) created.destroy();
});

afterAll(async () => {
  await server.close();
});

describe('unary', () => {
  it('round-trips a message and exposes response headers and trailers', async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const response = await client().ping(
      { message: 'hello' },
      { onHeader: (value) => (header = value), onTrailer: (value) => (trailer = value) },
    );
    expect(response.message).toBe('pong:hello');
    expect(header?.get('x-header-meta')).toBe('h');
    expect(trailer?.get('x-trailer-meta')).toBe('t');
    expect(trailer?.get('grpc-status')).toBe('0');
  });

  it('sends caller headers, the gRPC protocol headers and grpc-timeout', async () => {
    await client().ping(
      { message: 'headers' },
      { headers: { Authorization: 'Bearer secret', 'x-snakepit-correlation-id': 'c-1' }, timeoutMs: 5000 },
    );
    const seen = server.observed.lastHeaders;
    expect(seen?.get('authorization')).toBe('Bearer secret');
    expect(seen?.get('x-snakepit-correlation-id')).toBe('c-1');
    expect(seen?.get('content-type')).toBe('application/grpc+proto');
    expect(seen?.get('te')).toBe('trailers');
    expect(seen?.get('grpc-timeout')).toBe('5000m');
    await client().ping({ message: 'headers' }, { headers: new Headers([['x-custom', 'from-headers']]) });
    expect(server.observed.lastHeaders?.get('x-custom')).toBe('from-headers');
    expect(server.observed.lastHeaders?.get('grpc-timeout')).toBeNull();
  });

  it('reports status, percent-decoded message and metadata of an error', async () => {
    const error = await rejection(client().ping({ message: 'fail' }));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toBe('bad thing: 100% ✓\nnext line');
    expect(error.metadata.get('x-error-detail')).toBe('abc');
    expect(error.metadata.get('x-header-meta')).toBe('h');
  });

  it('reads the status of a trailers-only response, keeping undecodable escapes', async () => {
    const prefixed = createClient(WorkerService, transport({ baseUrl: `${server.baseUrl}/trailers-only` }));
    const error = await rejection(prefixed.ping({ message: 'x' }));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.rawMessage).toBe('no access ✓ %zz');
    expect(error.metadata.get('x-reason')).toBe('quota');
  });

  it('turns protocol violations into Internal/Unavailable/Unimplemented errors', async () => {
    const at = (prefix: string) => createClient(WorkerService, transport({ baseUrl: `${server.baseUrl}/${prefix}` }));
    expect((await rejection(at('no-status').ping({}))).code).toBe(Code.Internal);
    expect((await rejection(at('http-503').ping({}))).code).toBe(Code.Unavailable);
    expect((await rejection(at('refuse').ping({}))).code).toBe(Code.Unavailable);
    const truncated = await rejection(at('truncated').ping({}));
    expect(truncated.code).toBe(Code.Internal);
    expect(truncated.rawMessage).toMatch(/inside a message/);
    expect((await rejection(at('missing').ping({}))).code).toBe(Code.Unimplemented);
  });

  it('fails with DeadlineExceeded when timeoutMs passes, and the server sees the cancellation', async () => {
    const started = Date.now();
    const error = await rejection(client().ping({ message: 'hang' }, { timeoutMs: 100 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(1000);
    await server.abortSeen('ping:hang');
  });

  it('fails with Canceled when the signal aborts, and the server sees RST_STREAM', async () => {
    const controller = new AbortController();
    const call = client().ping({ message: 'hang' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await rejection(call)).code).toBe(Code.Canceled);
    await server.abortSeen('ping:hang');
    const reason = new Error('caller gave up');
    const preAborted = await rejection(client().ping({ message: 'x' }, { signal: AbortSignal.abort(reason) }));
    expect(preAborted.code).toBe(Code.Canceled);
    expect(preAborted.cause).toBe(reason);
  });

  it('carries 6 MiB in both directions', async () => {
    const payload = new Uint8Array(6 * 1024 * 1024);
    for (let index = 0; index < payload.length; index++) payload[index] = index % 251;
    const response = await client().executeTool({ call: { toolName: 'echo', binaryParameters: { payload } } });
    expect(response.result?.kind.case).toBe('binary');
    expect(Buffer.from(response.result?.kind.value ?? []).equals(Buffer.from(payload))).toBe(true);
  });

  it('enforces readMaxBytes with ResourceExhausted and keeps the connection usable', async () => {
    const small = client({ readMaxBytes: 1024 });
    const error = await rejection(small.executeTool({ call: { toolName: 'big', metadata: { 'response-bytes': '4096' } } }));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect((await small.ping({ message: 'after' })).message).toBe('pong:after');
  });

  it('runs 200 calls in parallel on one connection, each getting its own answer', async () => {
    const shared = client();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        shared.executeTool({ call: { toolName: 'echo', binaryParameters: { payload: new TextEncoder().encode(`call-${index}`) } } }),
      ),
    );
    results.forEach((response, index) => expect(decoder.decode(response.result?.kind.value)).toBe(`call-${index}`));
  });

  it('queues calls beyond the server SETTINGS_MAX_CONCURRENT_STREAMS instead of failing them', async () => {
    const limited = await startWorkerTestServer({ maxConcurrentStreams: 4 });
    try {
      const limitedClient = createClient(WorkerService, transport({}, limited));
      await limitedClient.ping({ message: 'warm-up' });
      const calls = Array.from({ length: 40 }, (_, index) =>
        limitedClient.executeTool({ call: { toolName: `t${index}`, metadata: { 'delay-ms': '10', 'response-bytes': '1' } } }),
      );
      expect(await Promise.all(calls)).toHaveLength(40);
      expect(limited.observed.peakConcurrency).toBeLessThanOrEqual(4);
    } finally {
      await limited.close();
    }
  });
});

describe('server streaming', () => {
  it('delivers all messages and the trailers', async () => {
    const texts: string[] = [];
    let trailer: Headers | undefined;
    for await (const response of client().executeStreamingTool(
      { call: { toolName: 'count' } },
      { onTrailer: (value) => (trailer = value) },
    )) {
      texts.push(isFinal(response) ? 'final' : chunkText(response));
    }
    expect(texts).toEqual(['0', '1', '2', '3', '4', 'final']);
    expect(trailer?.get('grpc-status')).toBe('0');
  });

  it('delivers each message as soon as it arrives', async () => {
    const iterator = client().executeStreamingTool({ call: { toolName: 'gated' } })[Symbol.asyncIterator]();
    // The server sends message 1 only after the gate opens, so receiving message 0 proves nothing is buffered.
    expect(chunkText((await iterator.next()).value)).toBe('0');
    expect(server.observed.yielded.get('gated')).toBe(1);
    server.openGate();
    expect(chunkText((await iterator.next()).value)).toBe('1');
    server.openGate();
    expect(chunkText((await iterator.next()).value)).toBe('2');
    expect((await iterator.next()).done).toBe(true);
  });

  it('cancels the server stream when the consumer breaks early', async () => {
    const response = await transport().stream(
      WorkerService.method.executeStreamingTool,
      undefined,
      undefined,
      undefined,
      streamRequest('endless'),
    );
    let received = 0;
    for await (const message of response.message) {
      expect(isFinal(message)).toBe(false);
      if (++received === 3) break;
    }
    await server.abortSeen('endless');
  });

  it('applies backpressure: a slow consumer holds the server back', async () => {
    const response = await transport().stream(
      WorkerService.method.executeStreamingTool,
      undefined,
      undefined,
      undefined,
      streamRequest('flood'),
    );
    const iterator = response.message[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // 4000 messages of 64 KiB (250 MiB) are on offer; the 8 MiB stream window plus our 1 MiB queue hold ~150.
    expect(server.observed.yielded.get('flood')).toBeLessThan(300);
    await iterator.return?.();
    await server.abortSeen('flood');
  });

  it('reports an error status after the messages sent before it', async () => {
    const texts: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const response of client().executeStreamingTool({ call: { toolName: 'fail-after-two' } })) {
          texts.push(chunkText(response));
        }
      })(),
    );
    expect(texts).toEqual(['0', '1']);
    expect(error.code).toBe(Code.Aborted);
    expect(error.rawMessage).toBe('tool crashed');
    expect(error.metadata.get('x-crash')).toBe('yes');
  });

  it('cancels on AbortSignal and on deadline while streaming', async () => {
    const controller = new AbortController();
    let received = 0;
    const aborted = await rejection(
      (async () => {
        for await (const _ of client().executeStreamingTool({ call: { toolName: 'endless' } }, { signal: controller.signal })) {
          if (++received === 2) controller.abort();
        }
      })(),
    );
    expect(aborted.code).toBe(Code.Canceled);
    const expired = await rejection(
      (async () => {
        for await (const _ of client().executeStreamingTool({ call: { toolName: 'endless' } }, { timeoutMs: 60 })) {
          // keep reading until the deadline fires
        }
      })(),
    );
    expect(expired.code).toBe(Code.DeadlineExceeded);
  });

  it('fails with Unavailable when the connection dies mid-stream, then reconnects', async () => {
    const shared = client();
    const texts: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const response of shared.executeStreamingTool({ call: { toolName: 'die' } })) texts.push(chunkText(response));
      })(),
    );
    expect(texts).toEqual(['0', '1']);
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toMatch(/connection to http:\/\/127\.0\.0\.1:\d+ was lost/);
    expect((await shared.ping({ message: 'again' })).message).toBe('pong:again');
  });
});

describe('connection lifecycle', () => {
  it('opens a new connection after the server sends GOAWAY', async () => {
    const shared = client();
    await shared.ping({ message: 'one' });
    server.closeSessions();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await shared.ping({ message: 'two' })).message).toBe('pong:two');
  });

  it('fails with Unavailable when nothing listens, without crashing the process', async () => {
    const nowhere = createClient(WorkerService, transport({ baseUrl: 'http://127.0.0.1:1' }));
    const error = await rejection(nowhere.ping({}));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toMatch(/ECONNREFUSED/);
  });

  it('holds the event loop only while calls are in flight', async () => {
    const shared = client();
    const referencedSockets = () => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const baseline = referencedSockets();
    const call = rejection(shared.ping({ message: 'hang' }, { timeoutMs: 200 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(referencedSockets()).toBe(baseline + 1);
    expect((await call).code).toBe(Code.DeadlineExceeded);
    // The reset stream closes a moment after the call failed; then the session is idle.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(referencedSockets()).toBe(baseline);
    expect((await shared.ping({ message: 'reuse' })).message).toBe('pong:reuse');
    expect(referencedSockets()).toBe(baseline);
  });

  it('rejects calls after close() and lets calls in flight finish', async () => {
    const closing = transport();
    const closingClient = createClient(WorkerService, closing);
    const startedBefore = server.observed.started.length;
    const inFlight = closingClient.executeTool({ call: { toolName: 'slow', metadata: { 'delay-ms': '50' } } });
    // Closed once the server is running the call (a fixed pause races on a loaded machine).
    while (!server.observed.started.slice(startedBefore).includes('slow')) await new Promise((resolve) => setTimeout(resolve, 2));
    closing.close();
    await expect(inFlight).resolves.toBeDefined();
    expect((await rejection(closingClient.ping({}))).code).toBe(Code.Unavailable);
  });

  it('fails calls in flight with Unavailable on destroy()', async () => {
    const destroyed = transport();
    const inFlight = rejection(createClient(WorkerService, destroyed).ping({ message: 'hang' }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    destroyed.destroy();
    const error = await inFlight;
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toMatch(/destroyed/);
  });
});
