/**
 * What a pool offers Python on the host side: the session store, the host tools, the tools its
 * workers reported, and the authenticated bridge server that serves them. Started before the
 * first worker (workers need its address) and stopped after the last one (they may call it until
 * they are gone).
 */
import { startBridgeServer, type BridgeServer } from './bridge-server.js';
import { createHostRequestHandler, type HostRequestHandler } from './host-requests.js';
import type { Logger } from '../observability/logging.js';
import { createMemorySessionStore, type MemorySessionStoreOptions } from '../session/memory-session-store.js';
import type { SessionStore } from '../session/session-store.js';
import { createHostToolRegistry, type HostToolRegistry } from '../tools/host-tool-registry.js';
import { createWorkerToolCatalog, type WorkerToolCatalog } from '../tools/worker-tool-catalog.js';

export interface HostSideOptions {
  /** A shared store (e.g. Redis-backed); the pool never closes a store it did not create. */
  sessionStore?: SessionStore;
  /** Options of the default in-memory store. */
  sessions?: MemorySessionStoreOptions;
  /** Serve the host bridge to workers. */
  hostBridge: boolean;
  token: string;
  logger: Logger;
  maxMessageBytes?: number;
}

export class HostSide {
  readonly sessions: SessionStore;
  readonly tools: HostToolRegistry = createHostToolRegistry();
  readonly workerTools: WorkerToolCatalog = createWorkerToolCatalog();
  /** The same service for workers that send their host requests on their call channel. */
  readonly hostRequests: HostRequestHandler;
  /** Resolves with the bridge's address (undefined when the bridge is off); rejects when it cannot start. */
  readonly address: Promise<string | undefined>;
  private readonly ownsStore: boolean;
  private bridge: Promise<BridgeServer | undefined>;

  constructor(options: HostSideOptions) {
    this.ownsStore = options.sessionStore === undefined;
    this.sessions = options.sessionStore ?? createMemorySessionStore(options.sessions);
    this.hostRequests = createHostRequestHandler({ sessions: this.sessions, tools: this.tools, workerTools: this.workerTools, logger: options.logger });
    this.bridge = options.hostBridge
      ? startBridgeServer({
          sessions: this.sessions,
          tools: this.tools,
          workerTools: this.workerTools,
          token: options.token,
          logger: options.logger,
          ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
        })
      : Promise.resolve(undefined);
    this.address = this.bridge.then((bridge) => bridge?.address);
    // A failed start reaches callers through `address` (as startup_failed); never unhandled.
    this.bridge.catch(() => {});
  }

  workerGone(workerId: string): void {
    this.workerTools.forgetWorker(workerId);
  }

  async close(): Promise<void> {
    const bridge = await this.bridge.catch(() => undefined);
    await bridge?.close();
    if (this.ownsStore) await this.sessions.close();
  }
}
