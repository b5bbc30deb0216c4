import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SnakepitError } from '../../src/errors.js';

// Two properties of the built bundles, checked in a plain Node process as users load them:
// - esbuild renames self-referencing classes (`var SnakepitError = class _SnakepitError`) unless
//   tsup's `keepNames` is on, and users then see `_SnakepitError` in stack traces and `util.inspect`;
// - esbuild splits shared code into chunks for ESM only, so without tsup's `splitting` each CommonJS
//   entry point carries its own SnakepitError and `instanceof` fails for errors thrown by an adapter.
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const probe = `
  const { inspect } = require('node:util');
  const describe = (SnakepitError) => {
    const error = new SnakepitError('internal', 'boom');
    return {
      className: SnakepitError.name,
      constructorName: error.constructor.name,
      name: error.name,
      text: String(error),
      inspected: inspect(error).split('\\n')[0],
      stack: String(error.stack).split('\\n')[0],
    };
  };
`;

const entryPoints = ['index', 'adapter/index', 'testing/index'];

function builtFile(entryPoint: string, format: 'esm' | 'cjs'): string {
  const file = path.join(packageRoot, 'dist', `${entryPoint}.${format === 'esm' ? 'js' : 'cjs'}`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` in packages/sdk first`);
  return file;
}

/** Loads every entry point in a fresh Node process and reports on their SnakepitError. */
function probeBuilt(format: 'esm' | 'cjs'): { described: unknown; sameClass: boolean } {
  const files = JSON.stringify(entryPoints.map((entryPoint) => builtFile(entryPoint, format)));
  const load = format === 'esm'
    ? `Promise.all(${files}.map((file) => import(file)))`
    : `Promise.resolve(${files}.map((file) => require(file)))`;
  const report = `.then((modules) => console.log(JSON.stringify({
    described: describe(modules[0].SnakepitError),
    sameClass: modules[0].SnakepitError === modules[1].SnakepitError,
  })))`;
  const result = spawnSync(process.execPath, ['-e', probe + load + report], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as { described: unknown; sameClass: boolean };
}

const expected = {
  className: 'SnakepitError',
  constructorName: 'SnakepitError',
  name: 'SnakepitError',
  text: 'SnakepitError: boom',
  inspected: 'SnakepitError: boom',
  stack: 'SnakepitError: boom',
};

describe('the error class prints as SnakepitError', () => {
  it('in the source', () => {
    const error = new SnakepitError('internal', 'boom');
    expect(SnakepitError.name).toBe('SnakepitError');
    expect(error.constructor.name).toBe('SnakepitError');
    expect(String(error)).toBe('SnakepitError: boom');
  });

  it.each(['esm', 'cjs'] as const)('in the built %s bundle', (format) => {
    expect(probeBuilt(format).described).toEqual(expected);
  });
});

describe('the built entry points share one SnakepitError class', () => {
  it.each(['esm', 'cjs'] as const)('%s: @snakepit/sdk and @snakepit/sdk/adapter', (format) => {
    expect(probeBuilt(format).sameClass).toBe(true);
  });
});
