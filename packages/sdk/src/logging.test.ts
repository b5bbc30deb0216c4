import { describe, expect, it } from 'vitest';
import { SnakepitError } from './errors.js';
import { createJsonLogger, loggerFromEnvironment, silentLogger } from './logging.js';
import { createMemoryLogger } from './testing/index.js';

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
});
