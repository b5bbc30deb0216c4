/** connect-node's stock gRPC transport (its defaults, as an application would use it) to the floor server. */
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { FloorService } from './floor-service.mjs';

export function connectStockClient(port) {
  return createClient(FloorService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
}
