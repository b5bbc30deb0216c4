import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  // The published types use Node's globals; the reference pulls in @types/node (a peer dependency)
  // even in projects that set `types: []`.
  dts: { banner: '/// <reference types="node" />' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  keepNames: true,
});
