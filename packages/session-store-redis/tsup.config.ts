import { defineConfig } from 'tsup';
import { nodeTypesBanner, packageBuild } from '../../tsup.base.js';

export default defineConfig({ ...packageBuild, entry: { index: 'src/index.ts' }, dts: { banner: nodeTypesBanner } });
