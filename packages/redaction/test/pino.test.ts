import { describe, expect, it } from 'vitest';
import {
  createPinoRedactOptions,
  createRedactingSerializers,
  redactingSerializers,
  wrapLogger,
  type Logger,
  type LogLevel,
} from '../src/pino.js';

const mask = '[REDACTED]';
const secret = 'hunter2-s3cret-value';

interface LoggedCall {
  level: LogLevel;
  args: unknown[];
  bindings: Record<string, unknown>[];
}

/** Collects calls the way a pino destination would see them. */
function createFakeLogger(
  calls: LoggedCall[],
  bindings: Record<string, unknown>[] = [],
  enabled: (level: LogLevel) => boolean = () => true,
): Logger {
  const method =
    (level: LogLevel) =>
    (...args: unknown[]): void => {
      calls.push({ level, args, bindings });
    };
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    child: (childBindings) => createFakeLogger(calls, [...bindings, childBindings], enabled),
    isLevelEnabled: enabled,
  };
}

describe('wrapLogger', () => {
  it('keeps secrets in objects and messages from reaching the logger', () => {
    const calls: LoggedCall[] = [];
    const logger = wrapLogger(createFakeLogger(calls));
    logger.info({ user: 'ada', password: secret, nested: [{ apiKey: secret }] }, 'login');
    logger.warn(`retrying with password=${secret}`);
    logger.error({ note: `token=${secret}` });
    logger.debug(`Authorization: Bearer ${secret}`);
    logger.fatal({ headers: { cookie: secret } }, 'db at postgres://app:%s@db/app', secret);
    expect(calls).toHaveLength(5);
    expect(JSON.stringify(calls)).not.toContain(secret);
    expect(calls[0]?.args).toEqual([
      { user: 'ada', password: mask, nested: [{ apiKey: mask }] },
      'login',
    ]);
    expect(calls[1]?.args).toEqual([`retrying with password=${mask}`]);
    expect(calls[4]?.args[1]).toBe(`db at postgres://app:${mask}@db/app`);
  });

  it('fills placeholders before scrubbing, so arguments cannot shift past the mask', () => {
    const calls: LoggedCall[] = [];
    const logger = wrapLogger(createFakeLogger(calls));
    logger.info('user=%s password=%s host=%s', 'ada', secret, 'db');
    logger.info('args %j and %o, 100%% done, %d items', { token: secret }, 'text', 3);
    logger.info('no arguments keeps %s and 100%% literally');
    expect(calls.map((call) => call.args)).toEqual([
      [`user=ada password=${mask} host=db`],
      [`args {"token":"${mask}"} and 'text', 100% done, 3 items`],
      ['no arguments keeps %s and 100%% literally'],
    ]);
  });

  it('wraps child loggers and redacts their bindings', () => {
    const calls: LoggedCall[] = [];
    const logger = wrapLogger(createFakeLogger(calls));
    const child = logger.child({ component: 'pool', apiKey: secret });
    child.info({ token: secret }, 'password=%s', secret);
    child.child({ session: secret }).warn(`Bearer ${secret}`);
    expect(JSON.stringify(calls)).not.toContain(secret);
    expect(calls[0]?.bindings).toEqual([{ component: 'pool', apiKey: mask }]);
    expect(calls[1]?.bindings).toEqual([{ component: 'pool', apiKey: mask }, { session: mask }]);
    expect(calls[1]?.args).toEqual([`Bearer ${mask}`]);
  });

  it('logs errors in pino shape with message and stack scrubbed', () => {
    const calls: LoggedCall[] = [];
    const logger = wrapLogger(createFakeLogger(calls));
    logger.error(new TypeError(`failed with password=${secret}`));
    logger.error({ err: new Error(`token=${secret}`), tool: 'predict' }, 'tool failed');
    expect(JSON.stringify(calls)).not.toContain(secret);
    const [merged, message] = calls[0]?.args ?? [];
    expect(message).toBe(`failed with password=${mask}`);
    const error = (merged as { err: Record<string, unknown> }).err;
    expect(error.type).toBe('TypeError');
    expect(error.message).toBe(`failed with password=${mask}`);
    expect(error.stack).toContain(`TypeError: failed with password=${mask}`);
    const second = calls[1]?.args[0] as { err: Record<string, unknown>; tool: string };
    expect(second.tool).toBe('predict');
    expect(second.err.stack).toContain('Error: token=');
  });

  it('skips all work for levels the logger has disabled', () => {
    const calls: LoggedCall[] = [];
    const logger = wrapLogger(createFakeLogger(calls, [], (level) => level !== 'debug'));
    let reads = 0;
    const watched = {
      get password() {
        reads += 1;
        return secret;
      },
    };
    logger.debug(watched, 'dropped');
    expect(calls).toHaveLength(0);
    expect(reads).toBe(0);
    expect(logger.isLevelEnabled?.('debug')).toBe(false);
    logger.info(watched);
    expect(calls).toHaveLength(1);
  });

  it('applies redaction options such as custom keys and masks', () => {
    const calls: LoggedCall[] = [];
    const logger = wrapLogger(createFakeLogger(calls), { sensitiveKeys: ['ssn'], mask: '***' });
    logger.info({ ssn: '123-45-6789' }, 'ssn=%s', '123-45-6789');
    expect(calls[0]?.args).toEqual([{ ssn: '***' }, 'ssn=***']);
  });

  it('accepts a pino-shaped logger, overloads and child options included', () => {
    // A structural copy of pino's own `Logger` signatures: if this assignment compiles, the sdk
    // can take a real pino logger without importing pino's types.
    interface PinoLogFunction {
      <T extends object>(object: T, message?: string, ...args: unknown[]): void;
      (object: unknown, message?: string, ...args: unknown[]): void;
      (message: string, ...args: unknown[]): void;
    }
    interface PinoLikeLogger {
      level: string;
      trace: PinoLogFunction;
      debug: PinoLogFunction;
      info: PinoLogFunction;
      warn: PinoLogFunction;
      error: PinoLogFunction;
      fatal: PinoLogFunction;
      silent: PinoLogFunction;
      child(bindings: Record<string, unknown>, options?: { level?: string }): PinoLikeLogger;
      isLevelEnabled(level: string): boolean;
      flush(): void;
    }
    const received: unknown[][] = [];
    const record = (...args: unknown[]): void => {
      received.push(args);
    };
    const pinoLike: PinoLikeLogger = {
      level: 'info',
      trace: record,
      debug: record,
      info: record,
      warn: record,
      error: record,
      fatal: record,
      silent: record,
      child: () => pinoLike,
      isLevelEnabled: () => true,
      flush: () => {},
    };
    const accepted: Logger = pinoLike;
    wrapLogger(accepted).child({ tool: 'predict' }).info({ token: secret });
    expect(received).toEqual([[{ token: mask }]]);
  });
});

describe('redactingSerializers', () => {
  it('redacts args and results, describes payloads and scrubs errors', () => {
    expect(redactingSerializers.args({ prompt: 'hi', api_key: secret })).toEqual({
      prompt: 'hi',
      api_key: mask,
    });
    expect(redactingSerializers.result([`token=${secret}`])).toEqual([`token=${mask}`]);
    expect(redactingSerializers.payload({ password: secret, data: [1, 2] })).toBe(
      'object(keys: ["password","data"], count: 2)',
    );
    const error = redactingSerializers.err(new RangeError(`bad secret=${secret}`));
    expect(error).toMatchObject({ type: 'RangeError', message: `bad secret=${mask}` });
    expect(JSON.stringify(error)).not.toContain(secret);
    expect(redactingSerializers.err({ already: 'plain', token: secret })).toEqual({
      already: 'plain',
      token: mask,
    });
  });

  it('fits pino’s serializers option, which is an index signature', () => {
    const serializers: Record<string, (value: never) => unknown> = createRedactingSerializers({
      maxItems: 2,
    });
    expect(Object.keys(serializers).sort()).toEqual(['args', 'err', 'payload', 'result']);
  });
});

describe('createPinoRedactOptions', () => {
  it('lists common keys at the top level and one level down', () => {
    const options = createPinoRedactOptions({ sensitiveKeys: ['ssn', 'not-an-identifier'] });
    expect(options.censor).toBe(mask);
    expect(options.paths).toContain('password');
    expect(options.paths).toContain('*.apiKey');
    expect(options.paths).toContain('headers["set-cookie"]');
    expect(options.paths).toContain('*.ssn');
    expect(options.paths.join()).not.toContain('not-an-identifier');
  });
});
