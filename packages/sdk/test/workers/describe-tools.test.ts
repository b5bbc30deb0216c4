/**
 * `GrpcWorker.doDescribeTools`: DescribeTools against a real HTTP/2 gRPC server (connect-node),
 * with the worker's token, the specs decoded and validated as RegisterTools' are, and a failure
 * that names the worker and the reason.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { afterEach, describe, expect, it } from 'vitest';
import { SnakepitError } from '../../src/errors.js';
import { WorkerService } from '../../src/gen/snakepit/bridge/v1/worker_pb.js';
import { createGrpcHttp2Transport } from '../../src/transport/index.js';
import { GrpcWorker, type WorkerLifetime } from '../../src/workers/grpc-worker.js';

const encoder = new TextEncoder();
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

type Answer = (headers: Headers) => Promise<{ tools: { name: string; supportsStreaming?: boolean; parametersJson?: Uint8Array }[] }>;

async function workerAnswering(answer: Answer): Promise<GrpcWorker> {
  const handler = connectNodeAdapter({
    grpc: true,
    connect: false,
    grpcWeb: false,
    routes(router) {
      router.service(WorkerService, { describeTools: (_request, context) => answer(context.requestHeader) });
    },
  });
  const server = http2.createServer(handler);
  server.on('session', (session) => session.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const lifetime: WorkerLifetime = { pid: 0, exited: new Promise(() => {}), stop: async () => ({ code: 0, signal: null }) };
  const transport = createGrpcHttp2Transport({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  const worker = new GrpcWorker('w1', lifetime, transport, 'secret', 1, {}, { channelMaxRequestBytes: 0 });
  closers.push(async () => {
    await worker.doStop({ graceMs: 0 });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return worker;
}

describe('GrpcWorker.doDescribeTools', () => {
  it('returns each tool with its parameters document, sending the token', async () => {
    let authorization: string | null = null;
    const schema = { type: 'object', properties: { text: { type: 'string' } }, 'x-snakepit': { version: 1, result: {} } };
    const worker = await workerAnswering(async (headers) => {
      authorization = headers.get('authorization');
      return {
        tools: [
          { name: 'embed', parametersJson: encoder.encode(JSON.stringify(schema)) },
          { name: 'count', supportsStreaming: true },
        ],
      };
    });
    expect(await worker.doDescribeTools(5_000)).toEqual([
      { name: 'embed', description: '', supportsStreaming: false, parameters: schema, metadata: {} },
      { name: 'count', description: '', supportsStreaming: true, parameters: undefined, metadata: {} },
    ]);
    expect(authorization).toBe('Bearer secret');
  });

  it('refuses specs RegisterTools would refuse (a duplicate name, parameters that are not JSON)', async () => {
    const duplicate = await workerAnswering(async () => ({ tools: [{ name: 'a' }, { name: 'a' }] }));
    await expect(duplicate.doDescribeTools(5_000)).rejects.toMatchObject({ code: 'invalid_parameter', message: expect.stringContaining('duplicate') });
    const broken = await workerAnswering(async () => ({ tools: [{ name: 'a', parametersJson: encoder.encode('{') }] }));
    await expect(broken.doDescribeTools(5_000)).rejects.toMatchObject({ code: 'invalid_parameter', message: expect.stringContaining('invalid JSON') });
  });

  it('a failed or late answer is a transport error naming the worker', async () => {
    const failing = await workerAnswering(async () => {
      throw new ConnectError('no tools here', Code.Unimplemented);
    });
    const error = await failing.doDescribeTools(5_000).catch((caught: unknown) => caught);
    expect(SnakepitError.isInstance(error) && error.code).toBe('transport_error');
    expect((error as Error).message).toBe('DescribeTools of worker w1 failed: no tools here');
    const late = await workerAnswering(() => new Promise(() => {}));
    await expect(late.doDescribeTools(50)).rejects.toThrow('DescribeTools of worker w1 did not answer within 50 ms');
  });
});
