/**
 * pythonAdapter's settings are validated like the pool's options: an unknown key or a bad value
 * throws a SnakepitError `invalid_parameter` naming it, when the adapter is made.
 */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { SnakepitError } from '@snakepit/sdk';
import { pythonAdapter, type PythonAdapterSettings } from '../src/index.js';

const adapter = 'my_tools.adapter.MyAdapter';

function refusal(settings: unknown): SnakepitError {
  try {
    pythonAdapter(settings as PythonAdapterSettings);
  } catch (error) {
    if (SnakepitError.hasCode(error, 'invalid_parameter')) return error;
    throw error;
  }
  throw new Error('expected pythonAdapter to throw');
}

describe('pythonAdapter settings', () => {
  it('refuses the typo pythonpath, naming it and suggesting pythonPath', () => {
    const error = refusal({ adapter, pythonpath: ['./python'] });
    expect(SnakepitError.isInstance(error)).toBe(true);
    expect(error.details.key).toBe('pythonpath');
    expect(error.message).toBe('invalid parameter "pythonpath": is not a known pythonAdapter option (did you mean "pythonPath"?)');
  });

  it('lists the known options for a key that resembles none', () => {
    expect(refusal({ adapter, interpreter: 'python3' }).message).toContain('known options: adapter, python, pythonPath');
  });

  it.each([
    [{}, 'adapter', 'is required'],
    [{ adapter: 'MyAdapter' }, 'adapter', '"package.module.ClassName"'],
    [{ adapter: 'my tools.Adapter' }, 'adapter', '"package.module.ClassName"'],
    [{ adapter: 42 }, 'adapter', 'got 42'],
    [{ adapter, python: '' }, 'python', 'non-empty'],
    [{ adapter, pythonPath: './python' }, 'pythonPath', 'array'],
    [{ adapter, pythonPath: ['./python', 3] }, 'pythonPath[1]', 'folder'],
    [{ adapter, env: ['A=1'] }, 'env', 'object'],
    [{ adapter, env: { DEBUG: 1 } }, 'env.DEBUG', 'string'],
    [{ adapter, cwd: '/no/such/folder/anywhere' }, 'cwd', 'existing folder'],
    [{ adapter, logLevel: 'verbose' }, 'logLevel', "'debug', 'info', 'warning', 'error'"],
    [{ adapter, maxMessageBytes: '1mb' }, 'maxMessageBytes', 'bytes'],
    [{ adapter, maxMessageBytes: 10 }, 'maxMessageBytes', 'at least'],
    [{ adapter, channelMaxRequestBytes: -1 }, 'channelMaxRequestBytes', 'from 0'],
  ])('refuses %o naming %s', (settings, key, reason) => {
    const error = refusal(settings);
    expect(error.code).toBe('invalid_parameter');
    expect(error.details.key).toBe(key);
    expect(error.message).toContain(key);
    expect(error.message).toContain(reason);
  });

  it('refuses a settings value that is not an object', () => {
    expect(refusal(undefined).details.key).toBe('settings');
    expect(refusal('my_tools.adapter.MyAdapter').details.key).toBe('settings');
  });

  it('accepts every documented option', () => {
    const made = pythonAdapter({
      adapter,
      python: 'python3',
      pythonPath: ['./python'],
      env: { DEBUG: '1', UNSET: undefined },
      cwd: os.tmpdir(),
      logLevel: 'warning',
      maxMessageBytes: 1024 * 1024,
      channelMaxRequestBytes: 1024,
    });
    expect(made).toMatchObject({ specificationVersion: 'v1', name: 'python' });
  });
});
