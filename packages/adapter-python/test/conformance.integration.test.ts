/** The shared adapter conformance suite, against process-mode Python workers. */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAdapterConformanceSuite } from '@snakepit/sdk/testing';
import { showcaseAdapter } from './python-under-test.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'process-adapter.mjs');

defineAdapterConformanceSuite(
  { name: 'python (process mode)', createAdapter: () => showcaseAdapter(), adapterModule: pathToFileURL(fixture).href },
  { describe, it, beforeAll, afterAll, expect },
);
