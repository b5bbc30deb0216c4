// Loads the installed packages as ES modules; see scenario.cjs.
import * as sdk from '@snakepit/sdk';
import * as adapterPython from '@snakepit/adapter-python';
import * as adapterThreaded from '@snakepit/adapter-python-threaded';
import * as redaction from '@snakepit/redaction';
import * as sessionStoreRedis from '@snakepit/session-store-redis';
import { createInMemoryAdapter } from '@snakepit/sdk/testing';
import { createGrpcProcessAdapter } from '@snakepit/sdk/adapter';
import sdkManifest from '@snakepit/sdk/package.json' with { type: 'json' };
import scenario from './scenario.cjs';

if (typeof createInMemoryAdapter !== 'function' || typeof createGrpcProcessAdapter !== 'function') {
  throw new Error('the @snakepit/sdk/testing or @snakepit/sdk/adapter subpath is missing its exports');
}
await scenario.runScenario({ format: 'esm', sdk, adapterPython, adapterThreaded, redaction, sessionStoreRedis, sdkManifest });
