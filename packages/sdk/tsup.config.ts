import { defineConfig } from 'tsup';
import { nodeTypesBanner, packageBuild } from '../../tsup.base.js';

export default defineConfig({
  ...packageBuild,
  entry: {
    index: 'src/index.ts',
    'adapter/index': 'src/adapter/index.ts',
    'testing/index': 'src/testing/index.ts',
  },
  // Shared chunks in the CommonJS build too (esbuild splits ESM only; tsup's splitting extends it), so
  // `@snakepit/sdk` and `@snakepit/sdk/adapter` share one SnakepitError class and `instanceof` holds
  // for errors thrown by an adapter, as it does in the ESM build.
  splitting: true,
  dts: { banner: nodeTypesBanner },
  // The CommonJS build needs an `import.meta.url` for the optional OpenTelemetry lookup (createRequire).
  shims: true,
});
