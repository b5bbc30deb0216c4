import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'adapter/index': 'src/adapter/index.ts',
    'testing/index': 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  // Shared chunks in the CommonJS build too (esbuild splits ESM only; tsup's splitting extends it), so
  // `@snakepit/sdk` and `@snakepit/sdk/adapter` share one SnakepitError class and `instanceof` holds
  // for errors thrown by an adapter, as it does in the ESM build.
  splitting: true,
  // The published types use Node's globals (AbortSignal, NodeJS.ProcessEnv, AsyncDisposable); the
  // reference pulls in @types/node (a peer dependency) even in projects that set `types: []`.
  dts: { banner: '/// <reference types="node" />' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Without it esbuild renames self-referencing classes (`class _SnakepitError`), which is what
  // `error.constructor.name`, stack traces and util.inspect would print.
  keepNames: true,
  // The CommonJS build needs an `import.meta.url` for the optional OpenTelemetry lookup (createRequire).
  shims: true,
});
