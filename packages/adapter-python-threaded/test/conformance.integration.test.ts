/** The shared adapter conformance suite, against threaded Python workers. */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAdapterConformanceSuite } from '@snakepit/sdk/testing';
import { threadedPythonAdapter } from '../src/index.js';
import { testPython, threadedShowcase } from './python-under-test.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'threaded-adapter.mjs');

function createAdapter() {
  return threadedPythonAdapter({
    adapter: threadedShowcase,
    python: testPython,
    threadsPerWorker: 4,
  });
}

defineAdapterConformanceSuite(
  { name: 'python (threaded mode)', createAdapter, adapterModule: pathToFileURL(fixture).href },
  { describe, it, beforeAll, afterAll, expect },
);
