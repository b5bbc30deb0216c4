/**
 * A Snakepit worker process in Node.js: `node worker/main.js --tools <module> [--capacity N]`,
 * started by the pool (adapter.js) as PROTOCOL.md §1 describes. Order matters: configuration and
 * the stdin watchdog first, then the user's tools, the server, tool registration, and only then the
 * one readiness line on fd 3.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Dispatcher } from './dispatch.js';
import { HostBridge } from './host.js';
import { logger, setLogLevel } from './log.js';
import { announceReady, failStartup, killProcessGroup, readConfig, StartupError } from './process-control.js';
import { startServer } from './server.js';
import { createWorkerService, InFlight } from './service.js';

/** How long in-flight calls get to finish after SIGTERM (the pool's grace is at most 2 s). */
const drainMs = 1500;

async function start() {
  const config = await readConfig();
  setLogLevel(config.logLevel);

  const { values } = parseArgs({ options: { tools: { type: 'string' }, capacity: { type: 'string', default: '1' } } });
  if (values.tools === undefined) throw new StartupError('no tools module: pass --tools <path>');
  const capacity = Number(values.capacity);
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new StartupError(`--capacity must be a positive integer, not "${values.capacity}"`);

  const toolsPath = path.resolve(values.tools);
  const toolsModule = await import(pathToFileURL(toolsPath).href);
  const dispatcher = new Dispatcher(toolsModule.tools);
  await toolsModule.initialize?.();

  const host = config.hostAddress === null ? undefined : new HostBridge({ address: config.hostAddress, ...config });
  const info = { pid: process.pid, mode: 'process', capacity, adapter: toolsPath };
  const inFlight = new InFlight();
  const service = createWorkerService({ dispatcher, info, hooks: toolsModule, host, maxMessageBytes: config.maxMessageBytes, inFlight });
  const { server, port } = await startServer({ service, token: config.token, maxMessageBytes: config.maxMessageBytes });

  // Installed before the ready line: the pool may stop us the moment it reads it.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    server.close();
    await Promise.race([inFlight.idle(), new Promise((resolve) => setTimeout(resolve, drainMs))]);
    try {
      await toolsModule.cleanup?.();
    } finally {
      host?.close();
      process.exit(0);
    }
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  await host?.registerTools(dispatcher.specs());
  announceReady(port, { ...info, node_version: process.versions.node });
  logger.info(`worker ${config.workerId} ready on port ${port} (${dispatcher.names.length} tools)`);

  if (host !== undefined && config.heartbeat.enabled) {
    host.startHeartbeat(config.heartbeat, () => {
      logger.error(`the host missed ${config.heartbeat.maxMissed} heartbeats in a row; exiting`);
      killProcessGroup();
    });
  }
}

start().catch(failStartup);
