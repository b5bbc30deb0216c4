/**
 * A real redis-server for tests: Debian's `redis-server` (or $REDIS_SERVER), on a free loopback
 * port, with its files in a temporary folder, no persistence. A missing binary is an error naming
 * what to install, never a skipped test.
 *
 * The server runs under a small shell that kills it when this process's end of its stdin closes,
 * so a test process that dies (even by SIGKILL) leaves no redis-server behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The redis-server process id (changes on restart). */
  readonly pid: number;
  /** SIGKILL: Redis is gone at once, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis keeps its connections but answers nothing, as when it is overloaded. */
  pause(): void;
  resume(): void;
  /** Stops it for good and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

const binary = process.env.REDIS_SERVER ?? 'redis-server';

export const missingRedisMessage =
  `redis-server was not found (looked for "${binary}"). The Redis session store tests need a real Redis: ` +
  'install Debian\'s package with `apt-get install -y redis-server` (as root; `node scripts/setup.mjs` does it when it can), ' +
  'or set REDIS_SERVER to the path of a redis-server binary.';

function assertRedisServerInstalled(): void {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) throw new Error(missingRedisMessage);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True once something on the port answers PING with PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

// The redis pid on the first line; redis is killed when stdin (kept on fd 3) reaches EOF; the
// shell exits with redis, so its exit is redis's exit.
const supervisor = [
  'exec 3<&0',
  '"$0" "$@" </dev/null &',
  'pid=$!',
  'echo "$pid"',
  '( read -r _ <&3; kill -9 "$pid" 2>/dev/null ) &',
  'wait "$pid"',
].join('\n');

interface Running {
  shell: ChildProcess;
  pid: number;
  exited: Promise<void>;
  output: string[];
}

async function launch(port: number, folder: string): Promise<Running> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', folder,
    '--save', '',
    '--appendonly', 'no',
    '--protected-mode', 'no',
    '--daemonize', 'no',
    '--loglevel', 'warning',
    '--maxmemory-policy', 'noeviction',
  ];
  const shell = spawn('sh', ['-c', supervisor, binary, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => shell.once('exit', () => resolve()));
  const collect = (data: Buffer) => {
    output.push(...data.toString('utf8').split('\n').filter(Boolean));
    output.splice(0, Math.max(0, output.length - 50));
  };
  const pid = await new Promise<number>((resolve, reject) => {
    let first = '';
    const onData = (data: Buffer) => {
      first += data.toString('utf8');
      const newline = first.indexOf('\n');
      if (newline < 0) return;
      shell.stdout!.off('data', onData);
      shell.stdout!.on('data', collect);
      collect(Buffer.from(first.slice(newline + 1)));
      resolve(Number(first.slice(0, newline)));
    };
    shell.stdout!.on('data', onData);
    shell.stderr!.on('data', collect);
    shell.once('error', reject);
    shell.once('exit', (code) => reject(new Error(`redis-server exited at once (${code}): ${output.join('\n')}`)));
  });
  const deadline = Date.now() + 10_000;
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  while (!(await answersPing(port))) {
    if (exitedEarly) throw new Error(`redis-server exited before answering on port ${port}:\n${output.join('\n')}`);
    if (Date.now() > deadline) {
      shell.stdin!.end();
      throw new Error(`redis-server did not answer on port ${port} within 10 s:\n${output.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { shell, pid, exited, output };
}

export async function startRedisServer(): Promise<RedisServer> {
  assertRedisServerInstalled();
  const folder = mkdtempSync(path.join(os.tmpdir(), 'snakepit-redis-'));
  let running: Running | undefined;
  let port = 0;
  for (let attempt = 0; running === undefined; attempt += 1) {
    port = await freePort();
    try {
      running = await launch(port, folder);
    } catch (error) {
      // Another process may have taken the port between the probe and the start.
      if (attempt >= 3) {
        rmSync(folder, { recursive: true, force: true });
        throw error;
      }
    }
  }
  let stopped = false;

  async function kill(): Promise<void> {
    const current = running;
    if (current === undefined) return;
    running = undefined;
    try {
      process.kill(current.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await current.exited;
    current.shell.stdin!.end();
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      if (running === undefined) throw new Error('redis-server is not running');
      return running.pid;
    },
    kill,
    async restart() {
      if (stopped) throw new Error('redis-server was stopped for good');
      await kill();
      running = await launch(port, folder);
    },
    pause() {
      if (running !== undefined) process.kill(running.pid, 'SIGSTOP');
    },
    resume() {
      if (running !== undefined) process.kill(running.pid, 'SIGCONT');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (running !== undefined) {
        // A paused server would not die of SIGTERM; SIGKILL works either way, and nothing is persisted.
        await kill();
      }
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
