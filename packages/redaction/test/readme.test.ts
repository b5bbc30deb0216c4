/**
 * Runs the README's example, so the documentation cannot drift from the code. A fake logger
 * stands in for pino, which is not a dependency.
 */
import { expect, it } from 'vitest';
import { describe, redact, scrubText, wrapLogger, type Logger } from '../src/index.js';

it('does what the README example says', () => {
  const written: unknown[][] = [];
  const record = (...args: unknown[]): void => {
    written.push(args);
  };
  const pino = (): Logger => ({
    trace: record,
    debug: record,
    info: record,
    warn: record,
    error: record,
    fatal: record,
    child: () => pino(),
  });

  const logger = wrapLogger(pino());
  logger.info({ tool: 'predict', args: { text: 'hi', api_key: 'sk-123' } }, 'calling tool');
  expect(written).toEqual([
    [{ tool: 'predict', args: { text: 'hi', api_key: '[REDACTED]' } }, 'calling tool'],
  ]);

  expect(describe({ api_key: 'super_secret' })).toBe('object(keys: ["api_key"], count: 1)');
  expect(redact({ user: 'ada', password: 'hunter2' })).toEqual({
    user: 'ada',
    password: '[REDACTED]',
  });
  expect(scrubText('GET /cb?token=abc123 from postgres://app:pw@db/app')).toBe(
    'GET /cb?token=[REDACTED] from postgres://app:[REDACTED]@db/app',
  );
});
