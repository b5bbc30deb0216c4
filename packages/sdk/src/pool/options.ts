/**
 * Pool options: defaults in one place, and validation that names the offending option, so a typo
 * or a nonsensical value fails at `createPool` instead of surfacing as odd behaviour under load.
 */
import os from 'node:os';
import path from 'node:path';
import type { AdapterV1, HeartbeatSettings } from '../adapter/v1/adapter.js';
import type { AdapterV2 } from '../adapter/v2/adapter.js';
import { errors } from '../errors.js';
import { loggerFromEnvironment, type Logger } from '../observability/logging.js';
import type { MemorySessionStoreOptions } from '../session/memory-session-store.js';
import type { SessionStore } from '../session/session-store.js';
import { validateArgumentSchemasOption, type ArgumentSchemas } from './argument-validation.js';
import type { AffinityMode, CallOptions } from './call-options.js';

export interface RestartBackoffOptions {
  /** Delay before the first restart. Default 100. */
  initialMs: number;
  /** Largest delay. Default 10000. */
  maxMs: number;
  /** Growth per consecutive failure. Default 2. */
  multiplier: number;
  /** Random spread as a fraction of the delay (0.2 = ±20%), so workers do not restart in lockstep. Default 0.2. */
  jitter: number;
  /** A worker that stays up this long resets its seat's backoff. Default 30000. */
  resetAfterMs: number;
}

/** Either version of the adapter spec. */
export type Adapter = AdapterV1 | AdapterV2;

export interface PoolOptions {
  adapter: Adapter;
  /** Workers to keep (v1 adapters). Not allowed with a v2 adapter, which reports its own seats. */
  size?: number;
  maxQueue?: number;
  queueTimeoutMs?: number;
  timeoutMs?: number;
  streamTimeoutMs?: number;
  affinity?: AffinityMode;
  startupConcurrency?: number;
  startupTimeoutMs?: number;
  maxRequestsPerWorker?: number;
  workerTtlMs?: number;
  restartBackoff?: Partial<RestartBackoffOptions>;
  heartbeat?: Partial<HeartbeatSettings>;
  shutdownTimeoutMs?: number;
  dataDir?: string;
  /**
   * Any pino-shaped logger. Everything the sdk logs is redacted on the way (`wrapLogger` from
   * @snakepit/redaction); worker output is scrubbed line by line. Default: silent, unless the
   * `SNAKEPIT_LOG_LEVEL` environment variable names a level (JSON lines on stderr).
   */
  logger?: Logger;
  /**
   * A span per call, with its trace context sent to the worker as `traceparent`, when
   * `@opentelemetry/api` is installed. Default true (tracing is on whenever the package is there).
   */
  openTelemetry?: boolean;
  /** A shared session store; default: an in-memory store built from `sessions`. */
  sessionStore?: SessionStore;
  /** Options of the default in-memory session store (TTL, sweep interval, quotas). */
  sessions?: MemorySessionStoreOptions;
  /** Serve the host bridge (session state and host tools for Python). Default true. */
  hostBridge?: boolean;
  /**
   * Where the lines workers print to stdout and stderr (Python's `print()`, warnings, a native
   * library's chatter) go: `'stderr'` writes them to this process's stderr, scrubbed and prefixed
   * with `[snakepit <workerId>]`; `'logger'` logs them through `logger` (stdout at info, stderr at
   * warn); `'ignore'` drops them. Records of Python's `logging` always go to `logger`.
   * Default `'stderr'`.
   */
  workerOutput?: WorkerOutput;
  /**
   * Checks each call's arguments against its tool's JSON Schema before sending, failing a call that
   * does not match with `invalid_parameter` naming the key and the reason. Pass the `toolSchemas`
   * that `npx snakepit types` writes (or any tool name → JSON Schema map); tools missing from it
   * are not checked. Default: no check (the worker still refuses bad arguments itself).
   */
  argumentSchemas?: ArgumentSchemas;
}

/** See `PoolOptions.workerOutput`. */
export type WorkerOutput = 'stderr' | 'logger' | 'ignore';

export const workerOutputs: readonly WorkerOutput[] = ['stderr', 'logger', 'ignore'];

export interface ResolvedPoolOptions {
  adapter: Adapter;
  /** Seats of a v1 adapter; 0 for a v2 adapter (it reports its seats). */
  size: number;
  maxQueue: number;
  queueTimeoutMs: number;
  timeoutMs: number;
  streamTimeoutMs: number;
  affinity: AffinityMode;
  startupConcurrency: number;
  startupTimeoutMs: number;
  maxRequestsPerWorker: number;
  workerTtlMs: number;
  restartBackoff: RestartBackoffOptions;
  heartbeat: HeartbeatSettings;
  shutdownTimeoutMs: number;
  dataDir: string;
  logger: Logger;
  openTelemetry: boolean;
  sessionStore: SessionStore | undefined;
  sessions: MemorySessionStoreOptions | undefined;
  hostBridge: boolean;
  workerOutput: WorkerOutput;
  argumentSchemas: ArgumentSchemas | undefined;
}

/** Default `startupConcurrency` with a v2 adapter: connecting is cheap, spawning is not. */
const remoteStartupConcurrency = 16;

/** setTimeout fires at once beyond this, so no finite duration may exceed it. */
export const maxTimerMs = 2 ** 31 - 1;

export const affinityModes: readonly AffinityMode[] = ['hint', 'strict-queue', 'strict-fail-fast'];

export const defaultRestartBackoff: RestartBackoffOptions = {
  initialMs: 100,
  maxMs: 10_000,
  multiplier: 2,
  jitter: 0.2,
  resetAfterMs: 30_000,
};

export const defaultHeartbeat: HeartbeatSettings = { intervalMs: 2_000, timeoutMs: 10_000, maxMissed: 3 };

const knownOptions = new Set<string>([
  'adapter',
  'size',
  'maxQueue',
  'queueTimeoutMs',
  'timeoutMs',
  'streamTimeoutMs',
  'affinity',
  'startupConcurrency',
  'startupTimeoutMs',
  'maxRequestsPerWorker',
  'workerTtlMs',
  'restartBackoff',
  'heartbeat',
  'shutdownTimeoutMs',
  'dataDir',
  'logger',
  'openTelemetry',
  'sessionStore',
  'sessions',
  'hostBridge',
  'workerOutput',
  'argumentSchemas',
]);

interface NumberRule {
  integer?: boolean;
  /** Smallest accepted value (inclusive). */
  min: number;
  /** Accept Infinity ("no limit"). */
  infinite?: boolean;
}

function numberOption(name: string, value: unknown, fallback: number, rule: NumberRule): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw errors.invalidParameter(name, 'must be a number');
  if (value === Infinity) {
    if (rule.infinite) return value;
    throw errors.invalidParameter(name, 'must be finite');
  }
  if (!Number.isFinite(value)) throw errors.invalidParameter(name, 'must be finite');
  if (rule.integer && !Number.isInteger(value)) throw errors.invalidParameter(name, 'must be an integer');
  if (value < rule.min) throw errors.invalidParameter(name, `must be at least ${rule.min}`);
  if (!rule.integer && value > maxTimerMs) throw errors.invalidParameter(name, `must be at most ${maxTimerMs} ms`);
  return value;
}

function durationOption(name: string, value: unknown, fallback: number, infinite = false): number {
  return numberOption(name, value, fallback, { min: 1, infinite });
}

function objectOption(name: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw errors.invalidParameter(name, 'must be an object');
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw errors.invalidParameter(`${name}.${key}`, 'is not a known option');
  }
  return value as Record<string, unknown>;
}

function affinityOption(name: string, value: unknown, fallback: AffinityMode): AffinityMode {
  if (value === undefined) return fallback;
  if (!(affinityModes as readonly unknown[]).includes(value)) {
    throw errors.invalidParameter(name, `must be one of ${affinityModes.map((mode) => `'${mode}'`).join(', ')}`);
  }
  return value as AffinityMode;
}

function isAdapter(value: unknown): value is Adapter {
  if (typeof value !== 'object' || value === null || typeof (value as Adapter).doStartWorker !== 'function') return false;
  const version = (value as Adapter).specificationVersion;
  return version === 'v1' || (version === 'v2' && typeof (value as AdapterV2).doWatchSeats === 'function');
}

function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'child'].every((key) => typeof candidate[key] === 'function');
}

export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  if (typeof options !== 'object' || options === null) throw errors.invalidParameter('options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key)) throw errors.invalidParameter(key, 'is not a known pool option');
  }
  if (!isAdapter(options.adapter)) {
    throw errors.invalidParameter('adapter', "must be an adapter implementing specificationVersion 'v1' or 'v2'");
  }
  const reportsSeats = options.adapter.specificationVersion === 'v2';
  if (reportsSeats && options.size !== undefined) {
    throw errors.invalidParameter('size', `does not apply: adapter "${options.adapter.name}" reports its own workers`);
  }
  if (options.logger !== undefined && !isLogger(options.logger)) {
    throw errors.invalidParameter('logger', 'must have trace/debug/info/warn/error/fatal and child methods');
  }
  if (options.openTelemetry !== undefined && typeof options.openTelemetry !== 'boolean') {
    throw errors.invalidParameter('openTelemetry', 'must be a boolean');
  }
  if (options.hostBridge !== undefined && typeof options.hostBridge !== 'boolean') {
    throw errors.invalidParameter('hostBridge', 'must be a boolean');
  }
  if (options.sessionStore !== undefined && (typeof options.sessionStore !== 'object' || typeof options.sessionStore?.create !== 'function')) {
    throw errors.invalidParameter('sessionStore', 'must implement the SessionStore interface');
  }
  if (options.workerOutput !== undefined && !(workerOutputs as readonly unknown[]).includes(options.workerOutput)) {
    throw errors.invalidParameter('workerOutput', `must be one of ${workerOutputs.map((output) => `'${output}'`).join(', ')}`);
  }
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir === '')) {
    throw errors.invalidParameter('dataDir', 'must be a non-empty path');
  }

  // 0 with a v2 adapter: its seats come and go as it reports them.
  const size = reportsSeats ? 0 : numberOption('size', options.size, os.availableParallelism(), { integer: true, min: 1 });
  const backoff = objectOption('restartBackoff', options.restartBackoff, Object.keys(defaultRestartBackoff));
  const heartbeat = objectOption('heartbeat', options.heartbeat, Object.keys(defaultHeartbeat));
  const restartBackoff: RestartBackoffOptions = {
    initialMs: numberOption('restartBackoff.initialMs', backoff.initialMs, defaultRestartBackoff.initialMs, { min: 0 }),
    maxMs: numberOption('restartBackoff.maxMs', backoff.maxMs, defaultRestartBackoff.maxMs, { min: 0 }),
    multiplier: numberOption('restartBackoff.multiplier', backoff.multiplier, defaultRestartBackoff.multiplier, {
      min: 1,
      integer: false,
    }),
    jitter: numberOption('restartBackoff.jitter', backoff.jitter, defaultRestartBackoff.jitter, { min: 0 }),
    resetAfterMs: durationOption('restartBackoff.resetAfterMs', backoff.resetAfterMs, defaultRestartBackoff.resetAfterMs),
  };
  if (restartBackoff.jitter > 1) throw errors.invalidParameter('restartBackoff.jitter', 'must be between 0 and 1');
  if (restartBackoff.maxMs < restartBackoff.initialMs) {
    throw errors.invalidParameter('restartBackoff.maxMs', 'must be at least restartBackoff.initialMs');
  }

  return {
    adapter: options.adapter,
    size,
    maxQueue: numberOption('maxQueue', options.maxQueue, 1000, { integer: true, min: 0, infinite: true }),
    queueTimeoutMs: durationOption('queueTimeoutMs', options.queueTimeoutMs, 5_000, true),
    timeoutMs: durationOption('timeoutMs', options.timeoutMs, 30_000),
    streamTimeoutMs: durationOption('streamTimeoutMs', options.streamTimeoutMs, 300_000),
    affinity: affinityOption('affinity', options.affinity, 'hint'),
    startupConcurrency: numberOption('startupConcurrency', options.startupConcurrency, reportsSeats ? remoteStartupConcurrency : size, {
      integer: true,
      min: 1,
    }),
    startupTimeoutMs: durationOption('startupTimeoutMs', options.startupTimeoutMs, 30_000),
    maxRequestsPerWorker: numberOption('maxRequestsPerWorker', options.maxRequestsPerWorker, Infinity, {
      integer: true,
      min: 1,
      infinite: true,
    }),
    workerTtlMs: durationOption('workerTtlMs', options.workerTtlMs, Infinity, true),
    restartBackoff,
    heartbeat: {
      intervalMs: durationOption('heartbeat.intervalMs', heartbeat.intervalMs, defaultHeartbeat.intervalMs),
      timeoutMs: durationOption('heartbeat.timeoutMs', heartbeat.timeoutMs, defaultHeartbeat.timeoutMs),
      maxMissed: numberOption('heartbeat.maxMissed', heartbeat.maxMissed, defaultHeartbeat.maxMissed, { integer: true, min: 1 }),
    },
    shutdownTimeoutMs: durationOption('shutdownTimeoutMs', options.shutdownTimeoutMs, 10_000),
    dataDir: options.dataDir ?? path.join(os.tmpdir(), 'snakepit-ts'),
    logger: options.logger ?? loggerFromEnvironment(),
    openTelemetry: options.openTelemetry ?? true,
    sessionStore: options.sessionStore,
    sessions: options.sessions,
    hostBridge: options.hostBridge ?? true,
    workerOutput: options.workerOutput ?? 'stderr',
    argumentSchemas: validateArgumentSchemasOption(options.argumentSchemas),
  };
}

const correlationIdPattern = /^[\x21-\x7e]{1,256}$/;

function isCorrelationId(value: unknown): boolean {
  return typeof value === 'string' && correlationIdPattern.test(value);
}

export interface ResolvedCallOptions {
  timeoutMs: number;
  affinity: AffinityMode;
  signal: AbortSignal | undefined;
}

/** Per-call options, checked on every call: cheap checks only. */
export function resolveCallOptions(
  tool: unknown,
  options: CallOptions | undefined,
  defaults: { timeoutMs: number; affinity: AffinityMode },
): ResolvedCallOptions {
  if (typeof tool !== 'string' || tool === '') throw errors.invalidParameter('tool', 'must be a non-empty string');
  if (options === undefined) return { timeoutMs: defaults.timeoutMs, affinity: defaults.affinity, signal: undefined };
  if (typeof options !== 'object' || options === null) throw errors.invalidParameter('options', 'must be an object');
  const timeoutMs = options.timeoutMs === undefined ? defaults.timeoutMs : durationOption('timeoutMs', options.timeoutMs, 0);
  const affinity = options.affinity === undefined ? defaults.affinity : affinityOption('affinity', options.affinity, 'hint');
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw errors.invalidParameter('signal', 'must be an AbortSignal');
  if (options.sessionId !== undefined && (typeof options.sessionId !== 'string' || options.sessionId === '')) {
    throw errors.invalidParameter('sessionId', 'must be a non-empty string');
  }
  if (options.correlationId !== undefined && !isCorrelationId(options.correlationId)) {
    // It travels as a gRPC header: a newline or a non-ASCII character would break the call later, and worse.
    throw errors.invalidParameter('correlationId', 'must be 1 to 256 printable ASCII characters without spaces');
  }
  return { timeoutMs, affinity, signal };
}
