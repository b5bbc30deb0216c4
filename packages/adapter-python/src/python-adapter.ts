/**
 * `pythonAdapter()`: workers are `python -m snakepit_bridge.server` processes, one asyncio gRPC
 * server each. Everything generic (spawn, readiness, gRPC client, stop) comes from the sdk's
 * gRPC process helper; this file only knows how to start Python and how to explain a start that
 * failed.
 */
import path from 'node:path';
import type { AdapterV1, AdapterWorkerV1, WorkerStartContext } from '@snakepit/sdk/adapter';
import { createGrpcProcessAdapter, errors, SnakepitError } from '@snakepit/sdk/adapter';
import { validatePythonAdapterSettings } from './python-adapter-settings.js';
import { findPythonInterpreter, type InterpreterChoice } from './python-interpreter.js';
import { pythonPackageRoot } from './python-package-path.js';
import { missingGrpcHint, missingInterpreterHint } from './python-setup-advice.js';

export interface PythonAdapterSettings {
  /** The adapter class, as "package.module.ClassName". */
  adapter: string;
  /**
   * Python interpreter. Default: the search of `findPythonInterpreter` — SNAKEPIT_PYTHON, the
   * active virtualenv, a `.venv` in `cwd` or a folder above it up to the project root, then python3.
   */
  python?: string;
  /** Extra folders put on PYTHONPATH (before the shipped bridge package). Default: none. */
  pythonPath?: string[];
  /** Extra environment variables for the workers. Default: none (the parent's environment is inherited). */
  env?: Record<string, string | undefined>;
  /** Working folder of the workers, and where the `.venv` search starts. Default: process.cwd(). */
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

/** What a variant of the adapter (threaded mode) changes in the same process. */
export interface PythonServerMode {
  name: string;
  serverArgs: string[];
  /**
   * Rewrites a startup failure the variant knows better how to explain; returns undefined to keep
   * it. Default: none.
   */
  explainStartupFailure?(error: SnakepitError, settings: PythonAdapterSettings): SnakepitError | undefined;
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

/** The worker could not import the gRPC runtime (grpcio, or protobuf through the generated code). */
const missingGrpcPattern = /No module named '(?:grpc|google)[.'"]|cannot import name .* from 'google\.protobuf|needs grpcio and protobuf/;

/** Places `hint` right after the first line of a startup error, before any quoted stderr. */
function withHint(error: SnakepitError, hint: string): SnakepitError {
  const [first, ...rest] = error.message.split('\n');
  const message = [`${first} ${hint}`, ...rest].join('\n');
  return errors.startupFailed(message, {
    cause: error,
    details: { ...error.details, hint },
    ...(error.pythonType !== undefined ? { pythonType: error.pythonType } : {}),
    ...(error.pythonTraceback !== undefined ? { pythonTraceback: error.pythonTraceback } : {}),
  });
}

function explainFailure(error: unknown, interpreter: InterpreterChoice, settings: PythonAdapterSettings, mode: PythonServerMode): unknown {
  if (!SnakepitError.hasCode(error, 'startup_failed')) return error;
  const explained = mode.explainStartupFailure?.(error, settings);
  if (explained !== undefined) return explained;
  const stderr = typeof error.details.stderr === 'string' ? error.details.stderr : '';
  if (missingGrpcPattern.test(error.message) || missingGrpcPattern.test(stderr)) return withHint(error, missingGrpcHint(interpreter));
  return error;
}

export function createPythonServerAdapter(settings: PythonAdapterSettings, mode: PythonServerMode): AdapterV1 {
  validatePythonAdapterSettings(settings, 'pythonAdapter');
  const cwd = path.resolve(settings.cwd ?? process.cwd());
  const interpreter = findPythonInterpreter({ python: settings.python, cwd });
  const processAdapter = createGrpcProcessAdapter({
    name: mode.name,
    missingRuntimeHint: missingInterpreterHint(interpreter),
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
  return {
    specificationVersion: 'v1',
    name: processAdapter.name,
    async doStartWorker(context: WorkerStartContext): Promise<AdapterWorkerV1> {
      try {
        return await processAdapter.doStartWorker(context);
      } catch (error) {
        throw explainFailure(error, interpreter, settings, mode);
      }
    },
  };
}

/** The process-mode Python adapter: one worker process runs one call at a time. */
export function pythonAdapter(settings: PythonAdapterSettings): AdapterV1 {
  return createPythonServerAdapter(settings, processMode);
}
