/**
 * Test support for the bridge tests: a bridge on a real socket with a real Connect gRPC client,
 * as a worker would reach it. Not exported from the package.
 */
import { randomUUID } from 'node:crypto';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { HostService } from '../../src/gen/snakepit/bridge/v1/host_pb.js';
import { createMemorySessionStore, type MemorySessionStore, type MemorySessionStoreOptions } from '../../src/session/memory-session-store.js';
import { createHostToolRegistry, type HostToolRegistry } from '../../src/tools/host-tool-registry.js';
import { createWorkerToolCatalog, type WorkerToolCatalog } from '../../src/tools/worker-tool-catalog.js';
import { errorCodeTrailer, errorDetailsTrailer } from '../../src/bridge/error-translation.js';
import { startBridgeServer, type BridgeServer, type BridgeServerOptions } from '../../src/bridge/bridge-server.js';

export interface BridgeFixture {
  bridge: BridgeServer;
  sessions: MemorySessionStore;
  tools: HostToolRegistry;
  workerTools: WorkerToolCatalog;
  token: string;
  client: Client<typeof HostService>;
  /** Call options carrying the right token. */
  auth: { headers: Record<string, string> };
  close(): Promise<void>;
}

export async function startBridgeFixture(
  options: { store?: MemorySessionStoreOptions } & Partial<Pick<BridgeServerOptions, 'onHeartbeat' | 'logger' | 'closeGraceMs'>> = {},
): Promise<BridgeFixture> {
  const sessions = createMemorySessionStore({ sweepIntervalMs: 0, ...options.store });
  const tools = createHostToolRegistry();
  const workerTools = createWorkerToolCatalog();
  const token = `token-${randomUUID()}`;
  const { store: _store, ...bridgeOptions } = options;
  const bridge = await startBridgeServer({ sessions, tools, workerTools, token, ...bridgeOptions });
  const client = createClient(HostService, createGrpcTransport({ baseUrl: `http://${bridge.address}` }));
  return {
    bridge,
    sessions,
    tools,
    workerTools,
    token,
    client,
    auth: { headers: { authorization: `Bearer ${token}` } },
    async close() {
      await bridge.close();
      await sessions.close();
    },
  };
}

export interface CallFailure {
  grpcCode: Code;
  /** The `snakepit-error-code` trailer, when present. */
  snakepitCode: string | null;
  details: Record<string, unknown> | undefined;
  message: string;
}

/** The gRPC error a call failed with; fails the test when the call succeeded. */
export async function callFailure(call: Promise<unknown>): Promise<CallFailure> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    const encodedDetails = connectError.metadata.get(errorDetailsTrailer);
    return {
      grpcCode: connectError.code,
      snakepitCode: connectError.metadata.get(errorCodeTrailer),
      details: encodedDetails === null ? undefined : JSON.parse(Buffer.from(encodedDetails, 'base64').toString('utf8')),
      message: connectError.rawMessage,
    };
  }
  throw new Error('expected the call to fail');
}

export const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
export const fromUtf8 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
