/**
 * `createPool<Tools>()`: the fixtures in test/fixtures/typed-calls are compiled against the built
 * package (its published `.d.ts`, as a user's project sees it). Correct calls compile cleanly;
 * each wrong call fails with the TypeScript error written beside it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'typed-calls');

function diagnosticsOf(file: string, strict = true): Array<{ line: number; code: number; text: string }> {
  const program = ts.createProgram([path.join(fixtures, file)], {
    strict,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
    types: ['node'],
    skipLibCheck: true,
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start) : undefined;
    return {
      line: where === undefined ? -1 : where.line + 1,
      code: diagnostic.code,
      text: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
    };
  });
}

describe('typed tools at compile time', () => {
  it('compiles correct calls on typed and untyped pools without a diagnostic', () => {
    expect(diagnosticsOf('correct.ts')).toEqual([]);
  }, 60_000);

  it('keeps untyped pools untyped in a project without strict null checks', () => {
    // There undefined (the default Tools) is assignable to everything; the pool must not read it as a catalog.
    expect(diagnosticsOf('correct.ts', false)).toEqual([]);
  }, 60_000);

  it('refuses each kind of wrong call with its own diagnostic', async () => {
    const source = (await import('node:fs')).readFileSync(path.join(fixtures, 'wrong.ts'), 'utf8').split('\n');
    const expected = source.flatMap((text, index) => {
      const match = /\/\/ expect TS(\d+)/.exec(text);
      return match === null ? [] : [{ line: index + 1, code: Number(match[1]) }];
    });
    expect(expected.length).toBeGreaterThanOrEqual(10);
    const found = diagnosticsOf('wrong.ts');
    // Exactly one diagnostic on each marked line, with the expected code, and none elsewhere.
    expect(found.map(({ line, code }) => ({ line, code }))).toEqual(expected);
  }, 60_000);
});
