import { defineConfig } from 'tsup';

export default defineConfig({
  // `cli` is the `snakepit` bin (npx snakepit doctor).
  entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
  format: ['esm', 'cjs'],
  // The published types use Node's globals (AbortSignal, NodeJS.ProcessEnv, AsyncDisposable); the
  // reference pulls in @types/node (a peer dependency) even in projects that set `types: []`.
  // Types for the library only; the bin has no importable API.
  dts: { entry: { index: 'src/index.ts' }, banner: '/// <reference types="node" />' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Without it esbuild renames self-referencing classes (`class _SnakepitError`), which is what
  // `error.constructor.name`, stack traces and util.inspect would print.
  keepNames: true,
  // The Python package is located relative to this module in both ESM and CJS builds.
  shims: true,
});
