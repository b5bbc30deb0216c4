/** The shared adapter conformance suite, against threaded Python workers. */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAdapterConformanceSuite } from '@snakepit/sdk/testing';
import { threadedPythonAdapter } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, 'fixtures', 'threaded-adapter.mjs');
const python = process.env.SNAKEPIT_PYTHON ?? path.resolve(here, '..', '..', '..', '.venv', 'bin', 'python');

function createAdapter() {
  return threadedPythonAdapter({
    adapter: 'snakepit_bridge.adapters.showcase_threaded.ThreadedShowcaseAdapter',
    python,
    threadsPerWorker: 4,
  });
}

defineAdapterConformanceSuite(
  { name: 'python (threaded mode)', createAdapter, adapterModule: pathToFileURL(fixture).href },
  { describe, it, beforeAll, afterAll, expect },
);
