import { describe, expect, it } from 'vitest';
import { SnakepitError } from '../../src/errors.js';
import { createJsonLogger, createSafeLogger, guardLogger, isLevelEnabled, loggerFromEnvironment, silentLogger } from '../../src/observability/logging.js';
import { createMemoryLogger } from '../../src/testing/index.js';

describe('logging', () => {
  it('is silent unless SNAKEPIT_LOG_LEVEL names a level', () => {
    expect(loggerFromEnvironment({})).toBe(silentLogger);
    expect(loggerFromEnvironment({ SNAKEPIT_LOG_LEVEL: 'silent' })).toBe(silentLogger);
    expect(loggerFromEnvironment({ SNAKEPIT_LOG_LEVEL: 'debug' })).not.toBe(silentLogger);
  });

  it('writes JSON lines at or above its level, with bindings and serialised errors', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ level: 'info', write: (line) => lines.push(line) }).child({ workerId: 'w1' });
    logger.debug({ hidden: true }, 'not written');
    const circular: Record<string, unknown> = { n: 1n };
    circular.self = circular;
    logger.warn({ error: new SnakepitError('timeout', 'too slow', { details: { timeoutMs: 5 } }), circular }, 'written');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!);
    expect(record).toMatchObject({
      level: 'warn',
      msg: 'written',
      workerId: 'w1',
      error: { type: 'SnakepitError', message: 'too slow', code: 'timeout', details: { timeoutMs: 5 } },
      circular: { n: '1', self: '[Circular]' },
    });
    expect(typeof record.time).toBe('string');
  });

  it('the memory logger records lines from children too', () => {
    const logger = createMemoryLogger({ level: 'info' });
    logger.child({ pool: 'p' }).info({ a: 1 }, 'hello');
    logger.debug({}, 'dropped');
    expect(logger.records).toMatchObject([{ level: 'info', message: 'hello', fields: { pool: 'p', a: 1 } }]);
    expect(logger.text()).toContain('"msg":"hello"');
    logger.clear();
    expect(logger.lines()).toEqual([]);
  });

  it('answers level checks without building a record', () => {
    const json = createJsonLogger({ level: 'info', write: () => {} });
    expect(isLevelEnabled(json, 'debug')).toBe(false);
    expect(isLevelEnabled(json, 'warn')).toBe(true);
    expect(isLevelEnabled(silentLogger, 'fatal')).toBe(false);
    // A logger without isLevelEnabled filters by itself, so everything is offered to it.
    expect(isLevelEnabled(createMemoryLogger({ level: 'error' }), 'debug')).toBe(true);
    const throwing = { ...json, isLevelEnabled: () => { throw new Error('broken'); } };
    expect(isLevelEnabled(guardLogger(throwing), 'error')).toBe(false);
  });
});

describe('the safe logger (everything the sdk logs)', () => {
  const secret = 'hunter2-secret';
  const token = 'tok_abcdefgh12345';

  it('masks secrets in fields, nested fields, child bindings and messages before the user logger sees them', () => {
    const target = createMemoryLogger();
    const logger = createSafeLogger(target);
    logger.info({ password: secret, request: { headers: { authorization: `Bearer ${token}` } } }, 'calling');
    logger.child({ api_key: secret }).warn({ note: `password=${secret}` }, `retrying with token=${token}`);
    logger.error({ error: new Error(`connect failed: postgres://app:${secret}@db/app`) }, 'failed');
    expect(target.records).toHaveLength(3);
    const text = target.text();
    expect(text).not.toContain(secret);
    expect(text).not.toContain(token);
    expect(target.records[1]!.message).toBe('retrying with token=[REDACTED]');
    expect(target.records[0]!.fields).toMatchObject({ password: '[REDACTED]' });
  });

  it('keeps the shared silent logger silent and cheap', () => {
    expect(createSafeLogger(silentLogger)).toBe(silentLogger);
  });

  it('forwards pino level checks, so dropped levels cost nothing', () => {
    const lines: string[] = [];
    const logger = createSafeLogger(createJsonLogger({ level: 'warn', write: (line) => lines.push(line) }));
    expect(isLevelEnabled(logger, 'debug')).toBe(false);
    expect(isLevelEnabled(logger, 'error')).toBe(true);
    logger.debug({ password: secret }, 'dropped');
    logger.warn({ password: secret }, 'kept');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(secret);
  });
});
