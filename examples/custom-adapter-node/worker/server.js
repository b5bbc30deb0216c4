/**
 * The worker's gRPC server (PROTOCOL.md §4, §5): HTTP/2 without TLS on 127.0.0.1, gRPC only, no
 * compression, `max_message_bytes` both ways. The bearer token is checked on the raw request
 * headers, before connect reads a byte of the body; a wrong or missing one gets a trailers-only
 * UNAUTHENTICATED answer.
 */
import { timingSafeEqual } from 'node:crypto';
import http2 from 'node:http2';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { WorkerService } from '../gen/snakepit/bridge/v1/worker_pb.js';
import { logger } from './log.js';

export async function startServer({ service, token, maxMessageBytes }) {
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(WorkerService, service);
    },
    grpc: true,
    connect: false,
    grpcWeb: false,
    acceptCompression: [],
    readMaxBytes: maxMessageBytes,
    writeMaxBytes: maxMessageBytes,
  });
  const expected = Buffer.from(`Bearer ${token}`);
  const authorized = (value) => {
    if (typeof value !== 'string') return false;
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const server = http2.createServer((request, response) => {
    if (authorized(request.headers.authorization)) return handler(request, response);
    response.stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc+proto',
        'grpc-status': '16', // UNAUTHENTICATED
        'grpc-message': 'missing or invalid authorization token',
      },
      { endStream: true },
    );
  });
  server.on('session', (session) => {
    // A broken connection is the pool's to notice; without a listener it would crash the worker.
    session.on('error', (error) => logger.debug(`connection error: ${error.message}`));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return { server, port };
}
