/**
 * Logging integration that works with pino, or anything shaped like it, without importing it:
 * serializers for pino's `serializers` option, paths for its `redact` option, and `wrapLogger`,
 * which redacts every call before the logger sees it.
 */
import { describe } from './describe.js';
import { createRedactor, defaultRedactOptions, type RedactOptions } from './redact.js';
import { createTextScrubber } from './scrub-text.js';
import { className, isError } from './value-kind.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** The levels `wrapLogger` wraps, lowest first. */
export const logLevels: readonly LogLevel[] = Object.freeze([
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
]);

/** One method per level, made by `method(level)`: the six-method part of every logger shape. */
export function levelMethods<Method>(method: (level: LogLevel) => Method): Record<LogLevel, Method> {
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
  };
}

/** One level method of a pino-shaped logger: `info({ tool }, 'called %s', name)` or `info('ready')`. */
export interface LogMethod {
  (object: object, message?: string, ...args: unknown[]): void;
  (message: string, ...args: unknown[]): void;
}

/**
 * The logger shape the sdk accepts. A pino logger satisfies it as is; so does any object with the
 * six level methods and `child`.
 */
export interface Logger {
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
  /** Returns a logger that adds `bindings` to every record. */
  child(bindings: Record<string, unknown>): Logger;
  /** pino's level check; when present, `wrapLogger` uses it to skip redaction of dropped calls. */
  isLevelEnabled?(level: LogLevel): boolean;
}

/**
 * Values for pino's `serializers` option. pino calls each on the property of the same name:
 * `args` and `result` are redacted, `payload` (opaque and possibly large) is only described, and
 * `err` becomes pino's usual `{ type, message, stack }` with secrets scrubbed.
 */
export type RedactingSerializers = {
  args: (value: unknown) => unknown;
  result: (value: unknown) => unknown;
  payload: (value: unknown) => string;
  err: (value: unknown) => unknown;
};

/** Builds the serializers with non-default redaction options. */
export function createRedactingSerializers(options?: RedactOptions): RedactingSerializers {
  const redactValue = createRedactor(options);
  const serializeError = createErrorSerializer(options);
  return { args: redactValue, result: redactValue, payload: describe, err: serializeError };
}

/** Serializers with the default options: `pino({ serializers: redactingSerializers })`. */
export const redactingSerializers: RedactingSerializers = createRedactingSerializers();

/** The shape of pino's `redact` option. */
export type PinoRedactOptions = { paths: string[]; censor: string };

/** Common spellings of sensitive keys; pino's `redact` matches exact paths, not patterns. */
const pinoRedactKeys = [
  'password',
  'passwd',
  'secret',
  'token',
  'apiKey',
  'api_key',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'clientSecret',
  'client_secret',
  'privateKey',
  'private_key',
  'credentials',
  'authorization',
  'cookie',
];
const pinoHeaderPaths = [
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'headers["x-api-key"]',
];

/**
 * A value for pino's `redact` option covering common sensitive keys at the top level and one level
 * down. It is a cheap first line only: pino matches exact paths, so `user_password` or a token
 * three levels deep is missed. `wrapLogger` and `redactingSerializers` catch those.
 * `sensitiveKeys` that are valid identifiers are added too.
 */
export function createPinoRedactOptions(
  options?: Pick<RedactOptions, 'mask' | 'sensitiveKeys'>,
): PinoRedactOptions {
  const identifier = /^[A-Za-z_$][\w$]*$/;
  const keys = [...pinoRedactKeys, ...(options?.sensitiveKeys ?? [])].filter((key) =>
    identifier.test(key),
  );
  const paths = [...new Set(keys)].flatMap((key) => [key, `*.${key}`]);
  return { paths: [...paths, ...pinoHeaderPaths], censor: options?.mask ?? defaultRedactOptions.mask };
}

/** Turns an error into pino's `{ type, message, stack }` shape, scrubbed; anything else is redacted. */
function createErrorSerializer(options: RedactOptions | undefined): (value: unknown) => unknown {
  const redactValue = createRedactor(options);
  const redactError = createRedactor({ ...options, includeErrorStack: true });
  return (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null || !isError(value)) return redactValue(value);
    const redacted = redactError(value);
    return { type: className(value), ...(typeof redacted === 'object' ? redacted : {}) };
  };
}

/**
 * Returns a logger of the same shape whose calls are made safe before `logger` sees them: the
 * merging object (and child bindings) go through `redact`, an `err` property or a leading Error
 * through the error serializer, and the message through `scrubText` after printf-style
 * placeholders (`%s %d %i %f %j %o %O %%`) are filled in, since a secret can arrive as an argument.
 */
export function wrapLogger(logger: Logger, options?: RedactOptions): Logger {
  const redactValue = createRedactor(options);
  const serializeError = createErrorSerializer(options);
  const scrub = createTextScrubber({ mask: options?.mask, sensitiveKeys: options?.sensitiveKeys });

  const toMergingObject = (value: object): object => {
    if (isError(value)) return { err: serializeError(value) };
    const redacted = redactValue(value);
    if (typeof redacted !== 'object' || redacted === null) return { value: redacted };
    const error: unknown = (value as { err?: unknown }).err;
    if (typeof error === 'object' && error !== null && isError(error)) {
      return { ...redacted, err: serializeError(error) };
    }
    return redacted;
  };

  const toMessage = (template: unknown, args: readonly unknown[]): string => {
    const text = typeof template === 'string' ? template : String(template);
    // Like pino, a message without arguments is not interpolated, so a literal `%` survives.
    if (args.length === 0) return scrub(text);
    return scrub(interpolate(text, args.map(redactValue)));
  };

  const wrap = (target: Logger): Logger => {
    const method = (level: LogLevel): LogMethod => {
      return (first: object | string, ...rest: unknown[]): void => {
        if (target.isLevelEnabled !== undefined && !target.isLevelEnabled(level)) return;
        if (typeof first === 'object' && first !== null) {
          const mergingObject = toMergingObject(first);
          let [message, ...args] = rest;
          // pino logs an error's own message when none is given.
          if (message === undefined && isError(first)) message = first.message;
          if (message === undefined) target[level](mergingObject);
          else target[level](mergingObject, toMessage(message, args));
          return;
        }
        if (first === undefined && rest.length > 0) {
          const [message, ...args] = rest;
          target[level](toMessage(message, args));
          return;
        }
        target[level](toMessage(first, rest));
      };
    };
    const wrapped: Logger = {
      ...levelMethods(method),
      child: (bindings: Record<string, unknown>): Logger => {
        const redacted = redactValue(bindings);
        const safeBindings = typeof redacted === 'object' && redacted !== null ? redacted : {};
        return wrap(target.child(safeBindings as Record<string, unknown>));
      },
    };
    if (target.isLevelEnabled !== undefined) {
      wrapped.isLevelEnabled = (level: LogLevel): boolean => target.isLevelEnabled?.(level) ?? true;
    }
    return wrapped;
  };

  return wrap(logger);
}

/**
 * Fills printf-style placeholders the way pino does: `%s` String, `%d`/`%f` Number, `%i` integer,
 * `%j`/`%o`/`%O` JSON (strings in single quotes), `%%` a percent sign; extra arguments are dropped
 * and a placeholder without an argument stays as written.
 */
function interpolate(template: string, args: readonly unknown[]): string {
  let next = 0;
  return template.replace(/%([sdifjoO%])/g, (placeholder: string, kind: string): string => {
    if (kind === '%') return '%';
    if (next >= args.length) return placeholder;
    const value = args[next];
    next += 1;
    switch (kind) {
      case 's':
        return String(value);
      case 'd':
      case 'f':
        return String(Number(value));
      case 'i':
        return String(Math.floor(Number(value)));
      default:
        if (typeof value === 'string') return `'${value}'`;
        return stringify(value);
    }
  });
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return describe(value);
  }
}
