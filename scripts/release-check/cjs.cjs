// Loads the installed packages with require(); see scenario.cjs.
'use strict';
const sdk = require('@snakepit/sdk');
const adapterPython = require('@snakepit/adapter-python');
const adapterThreaded = require('@snakepit/adapter-python-threaded');
const redaction = require('@snakepit/redaction');
const sessionStoreRedis = require('@snakepit/session-store-redis');
const { createInMemoryAdapter } = require('@snakepit/sdk/testing');
const { createGrpcProcessAdapter } = require('@snakepit/sdk/adapter');
const sdkManifest = require('@snakepit/sdk/package.json');
const { runScenario } = require('./scenario.cjs');

if (typeof createInMemoryAdapter !== 'function' || typeof createGrpcProcessAdapter !== 'function') {
  throw new Error('the @snakepit/sdk/testing or @snakepit/sdk/adapter subpath is missing its exports');
}
runScenario({ format: 'cjs', sdk, adapterPython, adapterThreaded, redaction, sessionStoreRedis, sdkManifest }).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
