import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SnakepitError } from '../../src/errors.js';
import { silentLogger } from '../../src/observability/logging.js';
import { createInMemoryAdapter } from '../../src/testing/index.js';
import { resolvePoolOptions, type PoolOptions } from '../../src/pool/options.js';
import { createPool } from '../../src/pool/pool.js';

const adapter = createInMemoryAdapter({ tools: {} });

function refusal(options: Record<string, unknown>): SnakepitError {
  try {
    createPool({ adapter, ...options } as PoolOptions);
  } catch (error) {
    if (SnakepitError.hasCode(error, 'invalid_parameter')) return error;
    throw error;
  }
  throw new Error('expected createPool to throw');
}

describe('pool options', () => {
  it('has the documented defaults', () => {
    const resolved = resolvePoolOptions({ adapter });
    expect(resolved).toMatchObject({
      size: os.availableParallelism(),
      maxQueue: 1000,
      queueTimeoutMs: 5_000,
      timeoutMs: 30_000,
      streamTimeoutMs: 300_000,
      affinity: 'hint',
      startupConcurrency: os.availableParallelism(),
      startupTimeoutMs: 30_000,
      maxRequestsPerWorker: Infinity,
      workerTtlMs: Infinity,
      restartBackoff: { initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 0.2, resetAfterMs: 30_000 },
      heartbeat: { intervalMs: 2_000, timeoutMs: 10_000, maxMissed: 3 },
      shutdownTimeoutMs: 10_000,
      dataDir: path.join(os.tmpdir(), 'snakepit-ts'),
      workerOutput: 'stderr',
    });
    expect(resolved.logger).toBe(silentLogger);
  });

  it('fills partial nested options from the defaults', () => {
    const resolved = resolvePoolOptions({ adapter, size: 3, heartbeat: { maxMissed: 5 }, restartBackoff: { maxMs: 500 } });
    expect(resolved.startupConcurrency).toBe(3);
    expect(resolved.heartbeat).toEqual({ intervalMs: 2_000, timeoutMs: 10_000, maxMissed: 5 });
    expect(resolved.restartBackoff.maxMs).toBe(500);
  });

  it.each([
    [{ adapter: undefined }, 'adapter'],
    [{ size: 0 }, 'size'],
    [{ size: 1.5 }, 'size'],
    [{ maxQueue: -1 }, 'maxQueue'],
    [{ queueTimeoutMs: 0 }, 'queueTimeoutMs'],
    [{ timeoutMs: Infinity }, 'timeoutMs'],
    [{ timeoutMs: '100' }, 'timeoutMs'],
    [{ streamTimeoutMs: 2 ** 31 }, 'streamTimeoutMs'],
    [{ affinity: 'sticky' }, 'affinity'],
    [{ startupConcurrency: 0 }, 'startupConcurrency'],
    [{ maxRequestsPerWorker: 0 }, 'maxRequestsPerWorker'],
    [{ workerTtlMs: -1 }, 'workerTtlMs'],
    [{ restartBackoff: { initialMs: 500, maxMs: 100 } }, 'restartBackoff.maxMs'],
    [{ restartBackoff: { jitter: 2 } }, 'restartBackoff.jitter'],
    [{ restartBackoff: { initial: 5 } }, 'restartBackoff.initial'],
    [{ heartbeat: { maxMissed: 0 } }, 'heartbeat.maxMissed'],
    [{ heartbeat: 5 }, 'heartbeat'],
    [{ dataDir: '' }, 'dataDir'],
    [{ logger: console }, 'logger'],
    [{ maxQueueSize: 10 }, 'maxQueueSize'],
    [{ workerOutput: 'console' }, 'workerOutput'],
  ])('refuses %o naming %s', (options, key) => {
    const error = refusal(options);
    expect(error.details.key).toBe(key);
    expect(error.message).toContain(key);
  });

  it('accepts Infinity where it means "no limit"', () => {
    const resolved = resolvePoolOptions({ adapter, maxQueue: Infinity, queueTimeoutMs: Infinity, maxRequestsPerWorker: Infinity });
    expect(resolved.maxQueue).toBe(Infinity);
  });
});
