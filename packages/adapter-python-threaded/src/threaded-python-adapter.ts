/**
 * `threadedPythonAdapter()`: one Python process serves `threadsPerWorker` calls at once on a
 * thread pool. Spawning, readiness and the gRPC connection are `@snakepit/adapter-python`'s; this
 * only selects the server's threaded mode. The worker reports its capacity, and the pool never
 * places more calls on it than that.
 */
import { createPythonServerAdapter, type PythonAdapterSettings } from '@snakepit/adapter-python';
import type { AdapterV1 } from '@snakepit/sdk/adapter';

export interface ThreadedPythonAdapterSettings extends PythonAdapterSettings {
  /** Calls one worker process runs at once. Default: 10. */
  threadsPerWorker?: number;
  /** Warn (through the worker's logger) about tools entered concurrently and thread-unsafe imports. Default: false. */
  threadSafetyChecks?: boolean;
}

export const defaultThreadsPerWorker = 10;

export function threadedPythonAdapter(settings: ThreadedPythonAdapterSettings): AdapterV1 {
  const threads = settings.threadsPerWorker ?? defaultThreadsPerWorker;
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
    throw new TypeError(`threadedPythonAdapter: "threadsPerWorker" must be an integer from 1 to 1024, got ${threads}`);
  }
  const { threadsPerWorker: _threads, threadSafetyChecks, ...pythonSettings } = settings;
  return createPythonServerAdapter(pythonSettings, {
    name: 'python-threaded',
    serverArgs: ['--mode', 'threaded', '--threads', String(threads), ...(threadSafetyChecks ? ['--thread-safety-checks'] : [])],
  });
}
