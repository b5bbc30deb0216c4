/**
 * threadedPythonAdapter's settings are validated like the pool's options, its startup errors say
 * where the interpreter search looked, and its refusal of a thread-unsafe adapter points at the
 * Node API, not at a Python command-line flag.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, SnakepitError, type Pool } from '@snakepit/sdk';
import { threadedPythonAdapter, type ThreadedPythonAdapterSettings } from '../src/index.js';
import { testPython, threadedShowcase } from './python-under-test.js';

const pools: Pool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 2_000 })));
});

function refusal(settings: unknown): SnakepitError {
  try {
    threadedPythonAdapter(settings as ThreadedPythonAdapterSettings);
  } catch (error) {
    if (SnakepitError.hasCode(error, 'invalid_parameter')) return error;
    throw error;
  }
  throw new Error('expected threadedPythonAdapter to throw');
}

async function startupError(adapter: ReturnType<typeof threadedPythonAdapter>): Promise<SnakepitError> {
  const pool = createPool({ adapter, size: 1, startupTimeoutMs: 20_000, workerOutput: 'ignore' });
  pools.push(pool);
  try {
    await pool.ready();
  } catch (error) {
    if (SnakepitError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected ready() to reject');
}

describe('threadedPythonAdapter settings', () => {
  it.each([
    [{ adapter: threadedShowcase, threadsperworker: 4 }, 'threadsperworker', 'is not a known threadedPythonAdapter option (did you mean "threadsPerWorker"?)'],
    [{ adapter: threadedShowcase, pythonpath: ['.'] }, 'pythonpath', '(did you mean "pythonPath"?)'],
    [{ adapter: 'Showcase' }, 'adapter', '"package.module.ClassName"'],
    [{ adapter: threadedShowcase, threadsPerWorker: 0 }, 'threadsPerWorker', 'from 1 to 1024'],
    [{ adapter: threadedShowcase, threadsPerWorker: '8' }, 'threadsPerWorker', 'from 1 to 1024'],
    [{ adapter: threadedShowcase, threadSafetyChecks: 'yes' }, 'threadSafetyChecks', 'boolean'],
  ])('refuses %o naming %s', (settings, key, reason) => {
    const error = refusal(settings);
    expect(error.details.key).toBe(key);
    expect(error.message).toContain(reason);
  });
});

describe('threadedPythonAdapter startup errors', () => {
  it('a thread-unsafe adapter: the refusal suggests pythonAdapter, not --mode process', async () => {
    const adapter = 'snakepit_bridge.adapters.showcase.ShowcaseAdapter';
    const error = await startupError(threadedPythonAdapter({ adapter, python: testPython, threadsPerWorker: 2 }));
    expect(error.code).toBe('startup_failed');
    expect(error.message).toContain('__thread_safe__ = True');
    expect(error.message).toContain(`pythonAdapter({ adapter: '${adapter}' }) from @snakepit/adapter-python`);
    expect(error.message).not.toContain('--mode');
    expect(error.pythonType).toMatch(/NotThreadSafeError$/);
  });

  it('a missing interpreter: says where it came from, like pythonAdapter', async () => {
    const error = await startupError(threadedPythonAdapter({ adapter: threadedShowcase, python: '/no/such/python3' }));
    expect(error.message).toContain('"/no/such/python3" from the python option does not exist or cannot be run');
    expect(error.message).toContain('npx snakepit doctor');
  });
});
