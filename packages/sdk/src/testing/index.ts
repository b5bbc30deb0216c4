/**
 * `@snakepit/sdk/testing`: an in-memory adapter, a recording logger, the adapter and session store
 * conformance suites, a wire-level harness for testing a worker process directly, and small
 * helpers for tests.
 */
export {
  createInMemoryAdapter,
  type InMemoryAdapter,
  type InMemoryAdapterOptions,
  type InMemoryTool,
  type InMemoryToolContext,
  type InMemoryWorker,
} from './in-memory-adapter.js';
export { createMemoryLogger, type MemoryLogger, type MemoryLogRecord } from './memory-logger.js';
export {
  defineAdapterConformanceSuite,
  type AdapterConformanceOptions,
  type ConformanceExpect,
  type ConformanceTestApi,
} from './adapter-conformance.js';
export {
  defineSessionStoreConformanceSuite,
  type SessionStoreConformanceOptions,
  type SessionStoreConformanceSettings,
} from './session-store-conformance.js';
export { isProcessAlive } from './process-alive.js';
export { failureOf } from './failure-of.js';
export { invalidUtf8Sequences } from './invalid-utf8.js';
export { poolEventNames } from './pool-event-names.js';
export { seededRandom, type SeededRandom } from './seeded-random.js';
export {
  connectWorkerClient,
  startWorkerHarness,
  type ChannelCallInit,
  type WorkerClient,
  type WorkerClientOptions,
  type WorkerCallChannel,
  type WorkerHarness,
  type WorkerHarnessOptions,
} from './worker-harness.js';
export * from './worker-protocol.js';
