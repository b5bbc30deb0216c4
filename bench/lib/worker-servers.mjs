/**
 * Worker servers for the remote peer: `count` × `python -m snakepit_bridge.serve` (one server
 * each, process mode) on free loopback ports, hosting the bench adapter, with a token file (0600)
 * and, with `tls`, the certificates of lib/tls.mjs. Resolves once every server printed its
 * `"event": "listening"` line, which gives its port and its pid.
 *
 * Each server runs in a process group of its own. `stop()` kills the groups; so does an exit hook,
 * and a small watchdog shell reading a pipe from this process kills them when this process dies
 * of a signal (run.mjs SIGKILLs a measurement that times out), which no exit hook sees.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pythonPackageRoot } from '@snakepit/adapter-python';
import { benchPythonDirectory, pythonCommand, repositoryRoot } from './python.mjs';

const startTimeoutMs = 20_000;

function killGroup(group) {
  try {
    process.kill(-group, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

// Reads process group ids (and temporary folders), one a line, until its stdin ends (this process
// exited, however), then kills the groups and removes the folders.
const watchdogScript = [
  'groups=""; folders=""',
  'while read -r item; do case "$item" in /*) folders="$folders $item" ;; *) groups="$groups $item" ;; esac; done',
  'for g in $groups; do kill -9 "-$g" 2>/dev/null; done',
  'for f in $folders; do rm -rf "$f"; done',
].join('\n');

function startWatchdog() {
  const watchdog = spawn('sh', ['-c', watchdogScript], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  watchdog.unref();
  watchdog.stdin.unref?.();
  watchdog.stdin.on('error', () => {});
  return watchdog;
}

/** One server: resolves with its pid and port once it listens; rejects if it exits or is late. */
function startServer({ tokenFile, tls, admissionQueue }, track) {
  const args = ['-u', '-m', 'snakepit_bridge.serve', '--adapter', 'bench_adapter.BenchAdapter', '--listen', '127.0.0.1:0'];
  args.push('--token-file', tokenFile, '--python-path', benchPythonDirectory, '--drain-seconds', '0');
  if (admissionQueue !== undefined) args.push('--admission-queue', String(admissionQueue));
  if (tls) args.push('--tls-cert', tls.certPath, '--tls-key', tls.keyPath);
  const inherited = process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [];
  const env = { ...process.env, PYTHONPATH: [pythonPackageRoot, ...inherited].join(path.delimiter), PYTHONUNBUFFERED: '1' };
  delete env.SNAKEPIT_TOKEN;
  const child = spawn(pythonCommand(), args, { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid !== undefined) track(child.pid);
  return new Promise((resolve, reject) => {
    let partial = '';
    let stderr = '';
    let settled = false;
    const fail = (reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`snakepit_bridge.serve ${reason}; stderr: ${stderr.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`did not listen within ${startTimeoutMs / 1000} s`), startTimeoutMs);
    child.once('error', (error) => fail(`could not start: ${error.message}`));
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal} before it listened`));
    child.stderr.setEncoding('utf8').on('data', (text) => (stderr = (stderr + text).slice(-10_000)));
    // Read stdout to the end: a full pipe would stall the server.
    child.stdout.setEncoding('utf8').on('data', (text) => {
      if (settled) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{"snakepit":')) continue;
        let parsed;
        try {
          parsed = JSON.parse(line);
        } catch {
          continue;
        }
        if (parsed.event === 'listening' && typeof parsed.port === 'number') {
          settled = true;
          clearTimeout(timer);
          // One server is its own process; should a supervisor ever sit between, its server's group goes too.
          if (typeof parsed.pid === 'number' && parsed.pid !== child.pid) track(parsed.pid);
          resolve({ pid: parsed.pid, port: parsed.port, child });
          return;
        }
      }
    });
  });
}

/**
 * `count` servers; `tls`: { certPath, keyPath, dir } (lib/tls.mjs) or undefined for plaintext;
 * `admissionQueue`: their `--admission-queue` (default: the server's own).
 */
export async function startWorkerServers({ count, tls, admissionQueue }) {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'snakepit-bench-serve-'));
  const token = randomBytes(16).toString('hex');
  const tokenFile = path.join(folder, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const groups = new Set();
  const watchdog = startWatchdog();
  for (const dir of [folder, tls?.dir]) if (dir) watchdog.stdin.write(`${dir}\n`);
  const track = (pid) => {
    groups.add(pid);
    watchdog.stdin.write(`${pid}\n`);
  };
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    for (const group of groups) killGroup(group);
    watchdog.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
  };
  process.once('exit', stop);
  const started = await Promise.allSettled(Array.from({ length: count }, () => startServer({ tokenFile, tls, admissionQueue }, track)));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    stop();
    throw failed.reason;
  }
  const servers = started.map((result) => result.value);
  return {
    endpoints: servers.map((server) => `127.0.0.1:${server.port}`),
    pids: servers.map((server) => server.pid),
    token,
    async stop() {
      const exited = servers.map(({ child }) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve))));
      stop();
      await Promise.all(exited);
    },
  };
}
