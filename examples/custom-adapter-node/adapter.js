/**
 * `nodeAdapter()`: a Snakepit adapter whose workers are Node.js processes. Everything the pool
 * needs from a worker process (spawning it in its own group, the private config line, readiness,
 * the gRPC client, the call channel, stopping) comes from the sdk's `createGrpcProcessAdapter`;
 * this file only says which command starts one worker. The worker itself is ./worker/main.js.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGrpcProcessAdapter, errors } from '@snakepit/sdk/adapter';

const workerEntry = fileURLToPath(new URL('./worker/main.js', import.meta.url));
const passedThrough = new Set(['logLevel', 'channelMaxRequestBytes', 'maxMessageBytes']);

/**
 * @param {object} settings
 * @param {string | URL} settings.tools the module whose `tools` export the workers serve (a path or a file URL)
 * @param {number} [settings.capacity] calls one worker runs at once (its event loop interleaves async tools). Default 1
 * @param {string} [settings.node] the Node.js binary. Default: the one running the pool
 * @param {string[]} [settings.execArgv] flags for that binary, e.g. ['--max-old-space-size=512']. Default none
 * @param {Record<string, string>} [settings.env] added to the pool's environment. Default none
 * @param {string} [settings.cwd] the workers' working folder. Default: the pool's
 * @param {string} [settings.logLevel] the workers' log level. Default "info"
 * @param {number} [settings.channelMaxRequestBytes] unary calls up to this size travel on the call channel. Default 64 KiB
 * @param {number} [settings.maxMessageBytes] the largest message either side sends. Default 256 MiB
 */
export function nodeAdapter(settings) {
  const { tools, capacity = 1, node = process.execPath, execArgv = [], env = {}, cwd, ...grpcSettings } = settings ?? {};
  for (const key of Object.keys(grpcSettings)) {
    if (!passedThrough.has(key)) throw errors.invalidParameter(key, 'is not a nodeAdapter setting');
  }
  const toolsPath = tools instanceof URL ? fileURLToPath(tools) : tools;
  if (typeof toolsPath !== 'string' || toolsPath === '') throw errors.invalidParameter('tools', 'must be the path or file URL of a tools module');
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw errors.invalidParameter('capacity', 'must be a positive integer');
  return createGrpcProcessAdapter({
    name: 'node',
    command: () => ({
      command: node,
      args: [...execArgv, workerEntry, '--tools', path.resolve(toolsPath), '--capacity', String(capacity)],
      env: { ...process.env, ...env },
      ...(cwd === undefined ? {} : { cwd }),
    }),
    missingRuntimeHint: 'Set `node` to the path of a Node.js binary.',
    ...grpcSettings,
  });
}
