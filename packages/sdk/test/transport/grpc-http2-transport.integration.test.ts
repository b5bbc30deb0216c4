/** Integration with real Python: the transport against a grpcio asyncio server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { WorkerService } from '../../src/gen/snakepit/bridge/v1/worker_pb.js';
import { createGrpcHttp2Transport, type GrpcHttp2Transport } from '../../src/transport/index.js';
import { pythonCommand, startPythonTestServer, type PythonTestServer } from './python-test-server.js';

const python = pythonCommand();
const decoder = new TextDecoder();

async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

describe('with a Python grpcio server', () => {
  let server: PythonTestServer;
  let transport: GrpcHttp2Transport;
  let client: Client<typeof WorkerService>;

  beforeAll(async () => {
    server = await startPythonTestServer(python);
    transport = createGrpcHttp2Transport({ baseUrl: server.baseUrl });
    client = createClient(WorkerService, transport);
  }, 30_000);

  afterAll(() => {
    transport?.destroy();
    server?.close();
  });

  it('round-trips unary calls and delivers caller headers as metadata', async () => {
    expect((await client.ping({ message: 'hi' })).message).toBe('pong:hi');
    const seen = JSON.parse((await client.ping({ message: 'headers' }, { headers: { authorization: 'Bearer t', 'x-custom': 'v' } })).message);
    expect(seen).toMatchObject({ authorization: 'Bearer t', 'x-custom': 'v' });
  });

  it('reads grpcio error status, percent-decoded message and trailing metadata', async () => {
    const error = await rejection(client.ping({ message: 'fail' }));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toBe('bad thing: 100% ✓');
    expect(error.metadata.get('x-error-detail')).toBe('abc');
  });

  it('passes the deadline to Python and cancels its task when it expires', async () => {
    const error = await rejection(client.ping({ message: 'hang' }, { timeoutMs: 300 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    const [, remaining] = await server.event('DEADLINE');
    expect(Number(remaining)).toBeGreaterThan(0);
    expect(Number(remaining)).toBeLessThanOrEqual(0.3);
    await server.event('CANCELLED ping');
  });

  it('cancels the Python task when the caller aborts', async () => {
    const controller = new AbortController();
    const call = rejection(client.ping({ message: 'hang' }, { signal: controller.signal }));
    await server.event('DEADLINE none');
    controller.abort();
    expect((await call).code).toBe(Code.Canceled);
    await server.event('CANCELLED ping');
  });

  it('carries 6 MiB each way', async () => {
    const payload = new Uint8Array(6 * 1024 * 1024).map((_, index) => index % 253);
    const response = await client.executeTool({ call: { toolName: 'echo', binaryParameters: { payload } } });
    expect(Buffer.from(response.result?.kind.value ?? []).equals(Buffer.from(payload))).toBe(true);
  });

  it('streams chunks and stops the Python generator when the consumer breaks', async () => {
    const chunks: string[] = [];
    for await (const response of client.executeStreamingTool({ call: { toolName: 'count' } })) {
      const [chunk] = response.chunks;
      chunks.push(chunk?.isFinal ? 'final' : decoder.decode(chunk?.data?.kind.value));
    }
    expect(chunks).toEqual(['0', '1', '2', '3', '4', 'final']);
    const stream = await transport.stream(WorkerService.method.executeStreamingTool, undefined, undefined, undefined, (async function* () {
      yield { call: { toolName: 'endless' } };
    })());
    let received = 0;
    for await (const _ of stream.message) if (++received === 3) break;
    await server.event('CANCELLED endless');
  });
});
