import { defineConfig } from 'tsup';
import { nodeTypesBanner, packageBuild } from '../../tsup.base.js';

export default defineConfig({
  ...packageBuild,
  // `cli` is the `snakepit` bin (npx snakepit doctor | types).
  entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
  // Types for the library only; the bin has no importable API.
  dts: { entry: { index: 'src/index.ts' }, banner: nodeTypesBanner },
  // The Python package is located relative to this module in both ESM and CJS builds.
  shims: true,
});
