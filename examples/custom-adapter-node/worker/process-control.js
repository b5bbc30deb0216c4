/**
 * The process side of the protocol (PROTOCOL.md §1, §2, §13): the configuration line on stdin, the
 * stdin watchdog, the one readiness line on fd 3, and killing our own process group.
 */
import { closeSync, writeSync } from 'node:fs';

const controlFd = 3;

/** A startup failure reported on fd 3 with this type instead of the error's own name. */
export class StartupError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StartupError';
  }
}

/**
 * Resolves with the first stdin line, parsed and checked, then keeps reading: EOF means the pool
 * is gone (it never closes stdin while it runs us), and then nothing of ours may stay behind.
 */
export function readConfig() {
  return new Promise((resolve, reject) => {
    let text = '';
    let configured = false;
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (piece) => {
      if (configured) return; // after the line, whatever arrives is discarded
      text += piece;
      const end = text.indexOf('\n');
      if (end < 0) return;
      configured = true;
      try {
        resolve(parseConfig(text.slice(0, end)));
      } catch (error) {
        reject(error);
      }
    });
    const parentGone = () => {
      if (!configured) reject(new StartupError('stdin ended before the configuration line'));
      else killProcessGroup();
    };
    process.stdin.once('end', parentGone);
    process.stdin.once('error', parentGone);
  });
}

function positiveInteger(value, key, fallback) {
  if (value === undefined || value === null) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new StartupError(`config key "${key}" must be a positive integer`);
  return value;
}

function parseConfig(line) {
  let config;
  try {
    config = JSON.parse(line);
  } catch (error) {
    throw new StartupError(`the config line is not JSON: ${error.message}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new StartupError('the config line is not a JSON object');
  if (typeof config.token !== 'string' || config.token === '') throw new StartupError('the config has no token');
  const heartbeat = config.heartbeat ?? {};
  if (typeof heartbeat !== 'object') throw new StartupError('config key "heartbeat" must be an object or null');
  return {
    workerId: typeof config.worker_id === 'string' ? config.worker_id : '',
    token: config.token,
    hostAddress: typeof config.host_address === 'string' && config.host_address !== '' ? config.host_address : null,
    heartbeat: {
      enabled: heartbeat.enabled !== false,
      intervalMs: positiveInteger(heartbeat.interval_ms, 'heartbeat.interval_ms', 2000),
      timeoutMs: positiveInteger(heartbeat.timeout_ms, 'heartbeat.timeout_ms', 10_000),
      maxMissed: positiveInteger(heartbeat.max_missed, 'heartbeat.max_missed', 3),
    },
    logLevel: typeof config.log_level === 'string' ? config.log_level : 'info',
    maxMessageBytes: positiveInteger(config.max_message_bytes, 'max_message_bytes', 256 * 1024 * 1024),
  };
}

function announce(event) {
  try {
    writeSync(controlFd, `${JSON.stringify(event)}\n`);
    closeSync(controlFd);
  } catch {
    // Started by hand, without fd 3: say it where a person will see it.
    process.stdout.write(`${JSON.stringify(event)}\n`);
  }
}

export function announceReady(port, info) {
  announce({ event: 'ready', port, info });
}

/** Reports a failed start on fd 3 (and stderr, in case fd 3 is broken), then exits with code 3. */
export function failStartup(error) {
  const thrown = error instanceof Error ? error : new Error(String(error));
  process.stderr.write(`${thrown.stack ?? thrown.message}\n`);
  announce({ event: 'failed', error: { type: thrown.name, message: thrown.message, traceback: thrown.stack ?? '' } });
  process.exit(3);
}

/**
 * SIGKILLs our process group, which also takes down whatever our tools started. The pool starts us
 * as a group leader (pgid == pid); if we are not one, there is no such group and we just exit.
 */
export function killProcessGroup() {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // not a group leader
  }
  process.exit(1);
}
