/**
 * A redis-server for the Redis session store peer: Debian's `redis-server` (or $REDIS_SERVER) on a
 * free loopback port, its files in a temporary folder, no persistence. Killed on `stop()` and, at
 * the latest, when this measurement process exits.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const binary = process.env.REDIS_SERVER ?? 'redis-server';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function answersPing(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString('latin1').startsWith('+PONG')));
  });
}

export async function startRedis() {
  if (spawnSync(binary, ['--version']).status !== 0) {
    throw new Error(`redis-server was not found ("${binary}"): install it with \`apt-get install -y redis-server\`, or set REDIS_SERVER`);
  }
  const folder = mkdtempSync(path.join(os.tmpdir(), 'snakepit-bench-redis-'));
  const port = await freePort();
  const server = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', folder, '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const kill = () => server.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (server.exitCode !== null || Date.now() > deadline) {
      kill();
      rmSync(folder, { recursive: true, force: true });
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: server.pid,
    async stop() {
      process.off('exit', kill);
      kill();
      await exited;
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
