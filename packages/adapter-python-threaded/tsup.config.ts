import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  // The published types use Node's globals (AbortSignal, NodeJS.ProcessEnv, AsyncDisposable); the
  // reference pulls in @types/node (a peer dependency) even in projects that set `types: []`.
  dts: { banner: '/// <reference types="node" />' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Without it esbuild renames self-referencing classes (`class _SnakepitError`), which is what
  // `error.constructor.name`, stack traces and util.inspect would print.
  keepNames: true,
});
