import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Without it esbuild renames self-referencing classes (`class _SnakepitError`), which is what
  // `error.constructor.name`, stack traces and util.inspect would print.
  keepNames: true,
});
