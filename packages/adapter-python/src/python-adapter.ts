/**
 * `pythonAdapter()`: workers are `python -m snakepit_bridge.server` processes, one asyncio gRPC
 * server each. Everything generic (spawn, readiness, gRPC client, stop) comes from the sdk's
 * gRPC process helper; this file only knows how to start Python.
 */
import path from 'node:path';
import type { AdapterV1, WorkerStartContext } from '@snakepit/sdk/adapter';
import { createGrpcProcessAdapter } from '@snakepit/sdk/adapter';
import { choosePythonInterpreter } from './python-interpreter.js';
import { pythonPackageRoot } from './python-package-path.js';

export interface PythonAdapterSettings {
  /** The adapter class, as "package.module.ClassName". */
  adapter: string;
  /** Python interpreter. Default: SNAKEPIT_PYTHON, the active virtualenv, ./.venv, then python3. */
  python?: string;
  /** Extra folders put on PYTHONPATH (before the shipped bridge package). Default: none. */
  pythonPath?: string[];
  /** Extra environment variables for the workers. Default: none (the parent's environment is inherited). */
  env?: Record<string, string>;
  /** Working folder of the workers. Default: process.cwd(). */
  cwd?: string;
  /** Log level of the Python side. Default: "info". */
  logLevel?: 'debug' | 'info' | 'warning' | 'error';
  /** Largest message either side sends or accepts. Default: 256 MiB. */
  maxMessageBytes?: number;
  /**
   * Unary calls whose encoded request (arguments, metadata, ids) is at most this many bytes travel
   * as messages on each worker's call channel (one open gRPC stream); larger ones get their own
   * RPC, so a large payload never holds up small calls. 0 sends every call as its own RPC. At most
   * half of `maxMessageBytes`. Default: 64 KiB.
   */
  channelMaxRequestBytes?: number;
}

/** What the threaded adapter changes in the same process: its name and server arguments. */
export interface PythonServerMode {
  name: string;
  serverArgs: string[];
}

export const processMode: PythonServerMode = {
  name: 'python',
  serverArgs: ['--mode', 'process'],
};

/**
 * Native thread pools (OpenMP, OpenBLAS, MKL, numexpr, Accelerate) default to one thread per core
 * in every process. Parallelism already comes from the pool (process mode) or the worker's thread
 * pool (threaded mode), so each library gets one thread unless the user's environment or the
 * `env` option says otherwise.
 */
export const threadLimitVariables = [
  'OMP_NUM_THREADS',
  'OPENBLAS_NUM_THREADS',
  'MKL_NUM_THREADS',
  'NUMEXPR_NUM_THREADS',
  'VECLIB_MAXIMUM_THREADS',
] as const;

function threadLimits(environment: NodeJS.ProcessEnv): Record<string, string> {
  const limits: Record<string, string> = {};
  for (const name of threadLimitVariables) if (environment[name] === undefined) limits[name] = '1';
  return limits;
}

export const missingGrpcHint =
  'Install the Python dependencies into that interpreter: `python -m pip install grpcio protobuf` ' +
  '(or set SNAKEPIT_PYTHON / the `python` option to an interpreter that has them).';

export function createPythonServerAdapter(settings: PythonAdapterSettings, mode: PythonServerMode): AdapterV1 {
  if (typeof settings.adapter !== 'string' || !/^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$/.test(settings.adapter)) {
    throw new TypeError(`pythonAdapter: "adapter" must be "package.module.ClassName", got ${JSON.stringify(settings.adapter)}`);
  }
  const cwd = settings.cwd ?? process.cwd();
  const interpreter = choosePythonInterpreter(settings.python, cwd);
  return createGrpcProcessAdapter({
    name: mode.name,
    missingRuntimeHint: `Python interpreter "${interpreter.command}" (from ${interpreter.source}) was not found. ${missingGrpcHint}`,
    ...(settings.maxMessageBytes !== undefined ? { maxMessageBytes: settings.maxMessageBytes } : {}),
    ...(settings.logLevel !== undefined ? { logLevel: settings.logLevel } : {}),
    ...(settings.channelMaxRequestBytes !== undefined ? { channelMaxRequestBytes: settings.channelMaxRequestBytes } : {}),
    command(_context: WorkerStartContext) {
      const inherited = process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [];
      const pythonPath = [...(settings.pythonPath ?? []), pythonPackageRoot, ...inherited].join(path.delimiter);
      return {
        command: interpreter.command,
        args: ['-u', '-m', 'snakepit_bridge.server', '--adapter', settings.adapter, '--control-fd', '3', ...mode.serverArgs],
        cwd,
        env: {
          ...threadLimits(process.env),
          ...process.env,
          ...settings.env,
          PYTHONPATH: pythonPath,
          PYTHONUNBUFFERED: '1',
        },
      };
    },
  });
}

/** The process-mode Python adapter: one worker process runs one call at a time. */
export function pythonAdapter(settings: PythonAdapterSettings): AdapterV1 {
  return createPythonServerAdapter(settings, processMode);
}
