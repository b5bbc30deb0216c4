/**
 * What every package's build shares: ESM and CommonJS for Node 20, with sourcemaps. A package's
 * own tsup.config.ts adds its entries and whatever only it needs.
 */
import type { Options } from 'tsup';

/** The published types use Node's globals (AbortSignal, NodeJS.ProcessEnv, AsyncDisposable); the
 * reference pulls in @types/node (a peer dependency) even in projects that set `types: []`. */
export const nodeTypesBanner = '/// <reference types="node" />';

export const packageBuild: Options = {
  format: ['esm', 'cjs'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Without it esbuild renames self-referencing classes (`class _SnakepitError`), which is what
  // `error.constructor.name`, stack traces and util.inspect would print.
  keepNames: true,
};
