/**
 * Client-streaming and bidi calls. The snakepit protos have none, so the test service is described
 * in code (google.protobuf.StringValue in, out) to keep the transport a drop-in for any service.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, createFileRegistry, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers, StringValueSchema } from '@bufbuild/protobuf/wkt';
import { createClient } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { createGrpcHttp2Transport, type GrpcHttp2Transport } from '../../src/transport/index.js';

const stringValue = '.google.protobuf.StringValue';
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'test/echo.proto',
    package: 'test.v1',
    dependency: ['google/protobuf/wrappers.proto'],
    syntax: 'proto3',
    service: [
      {
        name: 'EchoService',
        method: [
          { name: 'Collect', inputType: stringValue, outputType: stringValue, clientStreaming: true },
          { name: 'Shout', inputType: stringValue, outputType: stringValue, clientStreaming: true, serverStreaming: true },
        ],
      },
    ],
  }),
  (name) => (name === 'google/protobuf/wrappers.proto' ? file_google_protobuf_wrappers : undefined),
);
const EchoService = registry.getService('test.v1.EchoService') as DescService;

let server: http2.Http2Server;
let transport: GrpcHttp2Transport;

beforeAll(async () => {
  server = http2.createServer(
    connectNodeAdapter({
      grpc: true,
      connect: false,
      grpcWeb: false,
      routes(router) {
        router.service(EchoService, {
          async collect(requests: AsyncIterable<{ value: string }>) {
            const values: string[] = [];
            for await (const request of requests) values.push(request.value);
            return create(StringValueSchema, { value: values.join('+') });
          },
          async *shout(requests: AsyncIterable<{ value: string }>) {
            for await (const request of requests) yield create(StringValueSchema, { value: request.value.toUpperCase() });
          },
        } as never);
      },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  transport = createGrpcHttp2Transport({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});

afterAll(async () => {
  transport.destroy();
  await new Promise((resolve) => server.close(resolve));
});

describe('client and bidi streaming', () => {
  it('sends every request message of a client stream', async () => {
    const client = createClient(EchoService, transport) as unknown as {
      collect(requests: AsyncIterable<{ value: string }>): Promise<{ value: string }>;
    };
    async function* requests() {
      for (const value of ['a', 'b', 'c']) yield { value };
    }
    expect((await client.collect(requests())).value).toBe('a+b+c');
  });

  it('interleaves requests and responses of a bidi stream', async () => {
    const client = createClient(EchoService, transport) as unknown as {
      shout(requests: AsyncIterable<{ value: string }>): AsyncIterable<{ value: string }>;
    };
    const received: string[] = [];
    let answered: () => void = () => {};
    async function* requests() {
      for (const value of ['one', 'two', 'three']) {
        const answer = new Promise<void>((resolve) => (answered = resolve));
        yield { value };
        // The next request goes out only after the answer to this one arrived: no buffering either way.
        await answer;
      }
    }
    for await (const response of client.shout(requests())) {
      received.push(response.value);
      answered();
    }
    expect(received).toEqual(['ONE', 'TWO', 'THREE']);
  });
});
