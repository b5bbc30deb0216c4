/**
 * `threadedPythonAdapter()`: one Python process serves `threadsPerWorker` calls at once on a
 * thread pool. Spawning, readiness, the interpreter search and the gRPC connection are
 * `@snakepit/adapter-python`'s; this only selects the server's threaded mode. The worker reports
 * its capacity, and the pool never places more calls on it than that.
 */
import { createPythonServerAdapter, validatePythonAdapterSettings, type PythonAdapterSettings } from '@snakepit/adapter-python';
import { errors, type AdapterV1, type SnakepitError } from '@snakepit/sdk/adapter';

export interface ThreadedPythonAdapterSettings extends PythonAdapterSettings {
  /** Calls one worker process runs at once. Default: 10. */
  threadsPerWorker?: number;
  /** Warn (through the worker's logger) about tools entered concurrently and thread-unsafe imports. Default: false. */
  threadSafetyChecks?: boolean;
}

export const defaultThreadsPerWorker = 10;
export const maxThreadsPerWorker = 1024;

/**
 * The worker's refusal of an adapter that is not declared thread-safe, told in terms of this
 * package: the Python text names a server flag (`--mode process`) that Node users never pass.
 */
function explainNotThreadSafe(error: SnakepitError, settings: PythonAdapterSettings): SnakepitError | undefined {
  if (!error.pythonType?.endsWith('NotThreadSafeError')) return undefined;
  const workerId = typeof error.details.workerId === 'string' ? error.details.workerId : 'the worker';
  const message =
    `worker ${workerId} failed to start: ${settings.adapter} does not declare itself thread-safe, so ` +
    'threadedPythonAdapter cannot serve it. Either make its tools safe to run concurrently and mark the ' +
    'class (set `__thread_safe__ = True`, or subclass snakepit_bridge.ThreadSafeAdapter), or run it one ' +
    `call per process: pythonAdapter({ adapter: '${settings.adapter}' }) from @snakepit/adapter-python.`;
  return errors.startupFailed(message, {
    cause: error,
    details: error.details,
    pythonType: error.pythonType,
    ...(error.pythonTraceback !== undefined ? { pythonTraceback: error.pythonTraceback } : {}),
  });
}

export function threadedPythonAdapter(settings: ThreadedPythonAdapterSettings): AdapterV1 {
  validatePythonAdapterSettings(settings, 'threadedPythonAdapter', ['threadsPerWorker', 'threadSafetyChecks']);
  const threads = settings.threadsPerWorker ?? defaultThreadsPerWorker;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > maxThreadsPerWorker) {
    throw errors.invalidParameter('threadsPerWorker', `must be an integer from 1 to ${maxThreadsPerWorker}`);
  }
  if (settings.threadSafetyChecks !== undefined && typeof settings.threadSafetyChecks !== 'boolean') {
    throw errors.invalidParameter('threadSafetyChecks', 'must be a boolean');
  }
  const { threadsPerWorker: _threads, threadSafetyChecks, ...pythonSettings } = settings;
  return createPythonServerAdapter(pythonSettings, {
    name: 'python-threaded',
    serverArgs: ['--mode', 'threaded', '--threads', String(threads), ...(threadSafetyChecks ? ['--thread-safety-checks'] : [])],
    explainStartupFailure: explainNotThreadSafe,
  });
}
