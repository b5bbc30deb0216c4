/**
 * The logger seam. Its shape is pino's (level methods taking `(fields, message)` plus `child`), so a
 * pino logger plugs in unchanged; without one the sdk stays silent unless `SNAKEPIT_LOG_LEVEL` asks
 * for JSON lines on stderr. The sdk never hands a payload to a logger: values are summarised first,
 * and everything it logs passes `wrapLogger` from @snakepit/redaction on the way (`createSafeLogger`),
 * so a secret that slips into a field or a message is masked before the user's logger sees it.
 */
import { levelMethods, wrapLogger, type Logger as RedactionLogger, type RedactOptions } from '@snakepit/redaction';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export type LogFunction = (fields: Record<string, unknown>, message?: string) => void;

export interface Logger {
  trace: LogFunction;
  debug: LogFunction;
  info: LogFunction;
  warn: LogFunction;
  error: LogFunction;
  fatal: LogFunction;
  child(bindings: Record<string, unknown>): Logger;
  /** pino's level check; when present, the sdk skips building records that would be dropped. */
  isLevelEnabled?(level: LogLevel): boolean;
}

export const logLevels: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

const severity: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

function ignore(): void {}

export const silentLogger: Logger = {
  trace: ignore,
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  fatal: ignore,
  child: () => silentLogger,
  isLevelEnabled: () => false,
};

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (logLevels as readonly string[]).includes(value);
}

/** Errors become plain objects (JSON.stringify drops their fields); cycles and BigInts cannot break a line. */
function safeReplacer(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) {
      const described: Record<string, unknown> = { type: value.name, message: value.message };
      const code = (value as { code?: unknown }).code;
      if (code !== undefined) described.code = code;
      const details = (value as { details?: unknown }).details;
      if (details !== undefined) described.details = details;
      if (value.cause !== undefined) described.cause = value.cause;
      return described;
    }
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  };
}

/** One log record as one JSON line: time, level, msg, then bindings and fields. */
export function formatLogLine(level: LogLevel, message: string | undefined, fields: Record<string, unknown>): string {
  const record = { time: new Date().toISOString(), level, msg: message ?? '', ...fields };
  try {
    return JSON.stringify(record, safeReplacer());
  } catch {
    return JSON.stringify({ time: record.time, level, msg: message ?? '', unserializable: true });
  }
}

export interface JsonLoggerOptions {
  /** Lowest level written; 'silent' writes nothing. */
  level: LogLevel | 'silent';
  /** Where each line goes. Default: process.stderr. */
  write?: (line: string) => void;
  bindings?: Record<string, unknown>;
}

export function createJsonLogger(options: JsonLoggerOptions): Logger {
  if (options.level === 'silent') return silentLogger;
  const threshold = severity[options.level];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const make = (bindings: Record<string, unknown>): Logger => {
    const method =
      (level: LogLevel): LogFunction =>
      (fields, message) => {
        if (severity[level] < threshold) return;
        write(formatLogLine(level, message, { ...bindings, ...fields }));
      };
    return {
      ...levelMethods(method),
      child: (more) => make({ ...bindings, ...more }),
      isLevelEnabled: (level) => severity[level] >= threshold,
    };
  };
  return make(options.bindings ?? {});
}

/**
 * Wraps a user-supplied logger so that a logger which throws can never break the pool (a throw
 * inside a promise callback would otherwise become an unhandled rejection).
 */
export function guardLogger(logger: Logger): Logger {
  if (logger === silentLogger) return logger;
  const method =
    (level: LogLevel): LogFunction =>
    (fields, message) => {
      try {
        logger[level](fields, message);
      } catch {
        // Logging is best effort.
      }
    };
  const guarded: Logger = {
    ...levelMethods(method),
    child: (bindings) => {
      try {
        return guardLogger(logger.child(bindings));
      } catch {
        return silentLogger;
      }
    },
  };
  if (typeof logger.isLevelEnabled === 'function') {
    guarded.isLevelEnabled = (level) => {
      try {
        return logger.isLevelEnabled!(level) !== false;
      } catch {
        return false;
      }
    };
  }
  return guarded;
}

/**
 * Whether a record at `level` would be written. Callers check it before building anything costly
 * (a `describe` of a payload, a scrubbed worker line); a logger without `isLevelEnabled` (and not
 * silent) is assumed to want everything and filters by itself.
 */
export function isLevelEnabled(logger: Logger, level: LogLevel): boolean {
  if (logger === silentLogger) return false;
  return logger.isLevelEnabled === undefined || logger.isLevelEnabled(level);
}

/**
 * Redaction settings for what the sdk logs. Strings are cut at 4096 characters rather than the
 * library's 256 so that a Python traceback in a worker's log record stays readable.
 */
export const sdkRedactOptions: RedactOptions = Object.freeze({ maxStringLength: 4096 });

/**
 * The logger the sdk writes through: the user's logger behind `wrapLogger` (fields redacted, messages
 * scrubbed) and behind `guardLogger` (a throwing logger cannot break the pool). A silent logger stays
 * the shared silent instance, so `isLevelEnabled` answers at once on the hot path.
 */
export function createSafeLogger(logger: Logger): Logger {
  if (logger === silentLogger) return silentLogger;
  // The sdk only ever calls `(fields, message)`, which both logger shapes share.
  const wrapped = wrapLogger(logger as unknown as RedactionLogger, sdkRedactOptions) as unknown as Logger;
  return guardLogger(wrapped);
}

/** The default logger: silent, unless SNAKEPIT_LOG_LEVEL names a level (or "silent"). */
export function loggerFromEnvironment(environment: NodeJS.ProcessEnv = process.env): Logger {
  const requested = environment.SNAKEPIT_LOG_LEVEL?.trim().toLowerCase();
  if (requested === undefined || requested === '' || requested === 'silent') return silentLogger;
  const level = requested === 'warning' ? 'warn' : requested;
  return createJsonLogger({ level: isLogLevel(level) ? level : 'info', bindings: { name: 'snakepit' } });
}
