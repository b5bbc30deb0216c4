/** `@snakepit/sdk/testing`: an in-memory adapter, a recording logger, and the adapter conformance suite. */
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
export { isProcessAlive } from './process-alive.js';
