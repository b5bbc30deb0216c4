/**
 * A floor peer: the bare grpcio server and one way of calling it. Scenarios use two operations:
 * `exchange(bytes)` (one message there and back) and `serverStream(count, onChunk)`.
 *   http2        raw node:http2: one HTTP/2 stream per unary call (what a unary gRPC call costs),
 *                and server streams
 *   http2-bidi   raw node:http2: every call a message on one open bidi stream (the call channel's floor)
 *   connect      connect-node's stock transport: unary calls and server streams
 */
import { encodeBytesValue, floorChunk, floorChunkValue } from './floor-messages.mjs';
import { startFloorServer } from './grpc-server.mjs';
import { connectHttp2 } from './http2-client.mjs';

export async function openFloorPeer({ transport }) {
  const server = await startFloorServer();
  const pythonPids = () => [server.pid];
  const streamRequest = (count) => encodeBytesValue(Buffer.from(String(count)));
  const checkChunk = (chunk) => {
    if (!floorChunk.equals(chunk)) throw new Error('wrong stream chunk from the floor server');
  };

  if (transport === 'connect') {
    // Imported here: the raw floors' processes should not carry connect's code.
    const { connectStockClient } = await import('./connect-client.mjs');
    const client = connectStockClient(server.port);
    return {
      pythonPids,
      exchange: async (bytes) => (await client.echo({ value: bytes })).value,
      async serverStream(count, onChunk) {
        for await (const chunk of client.stream({ value: Buffer.from(String(count)) })) {
          if (!floorChunkValue.equals(chunk.value)) throw new Error('wrong stream chunk from the floor server');
          onChunk(chunk);
        }
      },
      close: () => server.stop(),
    };
  }

  const http2 = await connectHttp2(server.port);
  const bidi = transport === 'http2-bidi' ? http2.openBidi() : undefined;
  return {
    pythonPids,
    exchange: bidi ? (bytes) => bidi.exchange(bytes) : (bytes) => http2.unary(bytes),
    serverStream: (count, onChunk) =>
      http2.serverStream(streamRequest(count), (chunk) => {
        checkChunk(chunk);
        onChunk(chunk);
      }),
    async close() {
      await bidi?.close();
      await http2.close();
      await server.stop();
    },
  };
}
