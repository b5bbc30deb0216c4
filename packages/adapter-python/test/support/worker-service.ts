/**
 * A real worker run as a service (`python -m snakepit_bridge.serve`, PROTOCOL.md §13a) for
 * integration tests of remote workers: the test interpreter with the shipped bridge on PYTHONPATH,
 * the token in a file of its own (mode 0600), a free loopback port unless one is given, and the
 * JSON log lines of its stdout collected as they arrive. `startWorkerService` resolves once the
 * server is listening — with `workers: N`, once each of the supervisor's N servers is.
 *
 * Nothing outlives the test process: the service runs in a process group of its own (the
 * supervisor's servers each in theirs, learnt from their "listening" lines); `stop()` and `kill()`
 * end every one of those groups, an exit hook kills what a failed test left running, and a small
 * watchdog shell, reading a pipe from this process, kills them when this process dies of a signal
 * (even SIGKILL), which no exit hook sees.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pythonPackageRoot } from '../../src/index.js';
import { showcase, testPython } from '../python-under-test.js';

export interface WorkerServiceOptions {
  /** `--adapter`. Default: the showcase adapter. */
  adapter?: string;
  /** The host of `--listen`. Default 127.0.0.1; an IPv6 address without brackets (`::1`). */
  host?: string;
  /** The port of `--listen` (the first of `workers` ports). Default: a free one. */
  port?: number;
  /** `--workers N`: N servers on consecutive ports under a supervisor (which restarts them), even for 1. */
  workers?: number;
  /** `--mode`; `threads` is `--threads` (threaded mode). */
  mode?: 'process' | 'threaded';
  threads?: number;
  /** `--tls-cert`, `--tls-key`, `--tls-client-ca`: PEM file paths (see tls-certificates.ts). */
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  /** Written to a 0600 file passed as `--token-file`. Default: 32 random hex characters. */
  token?: string;
  admissionQueue?: number;
  admissionTimeoutMs?: number;
  drainSeconds?: number;
  maxMessageBytes?: number;
  logLevel?: string;
  /** `--python-path` folders (the adapter's own modules). */
  pythonPath?: string[];
  /** Further flags, passed as they are. */
  args?: string[];
  /** Added to the environment (which has no SNAKEPIT_TOKEN: the token comes from the file). */
  env?: Record<string, string>;
  /** How long the service may take to listen. Default 20 s. */
  startTimeoutMs?: number;
}

/** One JSON log line (PROTOCOL.md §3): `snakepit`, `level`, `logger`, `message` and its fields. */
export type ServiceLogLine = { readonly event?: string; readonly message?: string } & Readonly<Record<string, unknown>>;

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerServiceProcess {
  /** The first server's "host:port" (IPv6 in brackets). */
  readonly endpoint: string;
  /** Every server's "host:port", by port (one unless `workers`). */
  readonly endpoints: readonly string[];
  /** The token every call must carry (`authorization: Bearer <token>`). */
  readonly token: string;
  /** The process started: the server, or with `workers` the supervisor. */
  readonly pid: number;
  readonly process: ChildProcess;
  /** The JSON log lines of stdout so far, every server's (they share it), in order. */
  readonly lines: readonly ServiceLogLine[];
  /** stdout and stderr so far, as text. */
  readonly stdout: string;
  readonly stderr: string;
  /** Settles when the process has exited and its output is read to the end. */
  readonly exited: Promise<ServiceExit>;
  /** The first line (already seen or still to come) matching `predicate`; rejects after `timeoutMs`, or once the output ended without one. */
  waitForLine(predicate: (line: ServiceLogLine) => boolean, timeoutMs?: number): Promise<ServiceLogLine>;
  /** Sends `signal` (SIGTERM: a drain) to the process, resuming it if paused, and waits for its exit; after `timeoutMs` (default 15 s) kills everything and rejects. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ServiceExit>;
  /** SIGKILL to every process group of the service, as in a crash. Idempotent. */
  kill(): Promise<ServiceExit>;
  /** SIGSTOP / SIGCONT to the process groups of every server (and the supervisor), or of the one serving `endpoint`: it keeps its connections and answers nothing. */
  pause(endpoint?: string): void;
  resume(endpoint?: string): void;
}

const defaultStartTimeoutMs = 20_000;
const defaultStopTimeoutMs = 15_000;
const defaultWaitTimeoutMs = 10_000;

/** Every service not yet disposed of, for the exit hook: its process groups and its token folder. */
const running = new Set<{ groups(): number[]; folder: string }>();
let exitHookInstalled = false;

function killGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // The group is gone already.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const service of running) {
      for (const group of service.groups()) killGroup(group, 'SIGKILL');
      rmSync(service.folder, { recursive: true, force: true });
    }
  });
}

// Reads process group ids, one a line, until its stdin ends (this process exited, however), then
// kills them all. Killed itself once the service is disposed of properly.
const watchdogScript = [
  'groups=""',
  'while read -r group; do groups="$groups $group"; done',
  'for group in $groups; do kill -9 "-$group" 2>/dev/null; done',
].join('\n');

function startWatchdog(): ChildProcess {
  const watchdog = spawn('sh', ['-c', watchdogScript], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  watchdog.unref();
  const pipe = watchdog.stdin as net.Socket;
  pipe.unref();
  // A watchdog that is gone (killed with the service) makes writes fail; nothing is lost then.
  pipe.on('error', () => {});
  return watchdog;
}

function formatEndpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function listenOn(host: string, port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

/** A port P with P..P+count-1 all free on `host` (probed by binding them, then released). */
async function freePorts(host: string, count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const first = await listenOn(host, 0);
    if (first === undefined) throw new Error(`cannot listen on ${host} to find a free port`);
    const base = (first.address() as net.AddressInfo).port;
    const held = [first];
    for (let port = base + 1; port < base + count && port <= 65535; port += 1) {
      const next = await listenOn(host, port);
      if (next === undefined) break;
      held.push(next);
    }
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
    if (held.length === count) return base;
  }
  throw new Error(`found no ${count} consecutive free ports on ${host}`);
}

function serviceArguments(options: WorkerServiceOptions, host: string, port: number, tokenFile: string): string[] {
  const args = ['-u', '-m', 'snakepit_bridge.serve', '--adapter', options.adapter ?? showcase];
  args.push('--listen', formatEndpoint(host, port), '--token-file', tokenFile);
  const flag = (name: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(name, String(value));
  };
  flag('--workers', options.workers);
  flag('--mode', options.mode);
  flag('--threads', options.threads);
  flag('--tls-cert', options.tlsCert);
  flag('--tls-key', options.tlsKey);
  flag('--tls-client-ca', options.tlsClientCa);
  flag('--admission-queue', options.admissionQueue);
  flag('--admission-timeout-ms', options.admissionTimeoutMs);
  flag('--drain-seconds', options.drainSeconds);
  flag('--max-message-bytes', options.maxMessageBytes);
  flag('--log-level', options.logLevel);
  for (const folder of options.pythonPath ?? []) args.push('--python-path', folder);
  args.push(...(options.args ?? []));
  return args;
}

function serviceEnvironment(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, PYTHONUNBUFFERED: '1' };
  delete env.SNAKEPIT_TOKEN;
  const inherited = process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [];
  env.PYTHONPATH = [pythonPackageRoot, ...inherited].join(path.delimiter);
  return env;
}

export async function startWorkerService(options: WorkerServiceOptions = {}): Promise<WorkerServiceProcess> {
  const host = options.host ?? '127.0.0.1';
  const workers = options.workers ?? 1;
  // One server may listen on port 0 and report the port it got; a supervisor (any `workers`) needs a fixed one.
  const port = options.port ?? (options.workers !== undefined ? await freePorts(host, workers) : 0);
  const token = options.token ?? randomBytes(16).toString('hex');
  const folder = mkdtempSync(path.join(os.tmpdir(), 'snakepit-service-'));
  const tokenFile = path.join(folder, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });

  installExitHook();
  const child = spawn(testPython, serviceArguments(options, host, port, tokenFile), {
    env: serviceEnvironment(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // A spawn that fails (no interpreter) has no pid; `exited` reports it.
  const pid = child.pid ?? -1;
  // The process group of each supervised server, by port (the latest process on that port).
  const serverGroups = new Map<number, number>();
  const groups = () => [...new Set([pid, ...serverGroups.values()])].filter((group) => group > 0);
  const tracked = { groups, folder };
  running.add(tracked);
  const watchdog = startWatchdog();
  let disposed = false;
  const watch = (group: number) => {
    if (group > 0 && !disposed) watchdog.stdin!.write(`${group}\n`);
  };
  watch(pid);

  const lines: ServiceLogLine[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  let outputEnded = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  const record = (text: string) => {
    if (!text.startsWith('{"snakepit":')) return;
    let line: ServiceLogLine;
    try {
      line = JSON.parse(text) as ServiceLogLine;
    } catch {
      return; // Not a log line after all; it stays in `stdout`.
    }
    lines.push(line);
    if (line.event === 'listening' && typeof line.port === 'number' && typeof line.pid === 'number' && line.pid !== pid) {
      serverGroups.set(line.port, line.pid);
      watch(line.pid);
    }
  };
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (text: string) => {
    stdout += text;
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    parts.forEach(record);
    notify();
  });
  child.stderr!.on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<ServiceExit>((resolve) => {
    child.once('error', (error) => {
      stderr += `spawn failed: ${error.message}\n`;
    });
    child.once('close', (code, signal) => {
      outputEnded = true;
      notify();
      resolve({ code, signal });
    });
  });

  const context = () =>
    `${testPython} -m snakepit_bridge.serve (pid ${pid}); last log lines:\n` +
    `${lines.slice(-15).map((line) => JSON.stringify(line)).join('\n')}\nstderr:\n${stderr.slice(-3000)}`;

  function waitForLine(predicate: (line: ServiceLogLine) => boolean, timeoutMs = defaultWaitTimeoutMs): Promise<ServiceLogLine> {
    return new Promise((resolve, reject) => {
      let checked = 0;
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      const check = () => {
        for (; checked < lines.length; checked += 1) {
          const line = lines[checked]!;
          if (predicate(line)) return finish(() => resolve(line));
        }
        if (outputEnded) finish(() => reject(new Error(`the service's output ended without such a line; ${context()}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no such log line within ${timeoutMs} ms; ${context()}`))),
        timeoutMs,
      );
      listeners.add(check);
      check();
    });
  }

  function dispose(): void {
    if (disposed) return;
    disposed = true;
    for (const group of groups()) killGroup(group, 'SIGKILL');
    running.delete(tracked);
    watchdog.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
  }

  async function kill(): Promise<ServiceExit> {
    for (const group of groups()) killGroup(group, 'SIGKILL');
    const exit = await exited;
    dispose();
    return exit;
  }

  const paused = new Set<number>();

  async function stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = defaultStopTimeoutMs): Promise<ServiceExit> {
    if (!outputEnded && pid > 0) {
      try {
        process.kill(pid, signal);
      } catch {
        // Exited meanwhile.
      }
      // A stopped process acts on the signal once it runs again.
      for (const group of paused) killGroup(group, 'SIGCONT');
      paused.clear();
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const exit = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (exit === 'late') {
      await kill();
      throw new Error(`the service did not exit within ${timeoutMs} ms of ${signal} and was killed; ${context()}`);
    }
    dispose();
    return exit;
  }

  // Ready once every server has its "listening" line: the one server (on whichever port it got),
  // or one per port of the supervisor's range.
  const listeningPorts = new Set<number>();
  let firstPort: number;
  try {
    const listening = await waitForLine((line) => {
      if (line.event !== 'listening' || typeof line.port !== 'number') return false;
      if (workers === 1) return true;
      if (line.port >= port && line.port < port + workers) listeningPorts.add(line.port);
      return listeningPorts.size === workers;
    }, options.startTimeoutMs ?? defaultStartTimeoutMs);
    firstPort = workers === 1 ? (listening.port as number) : port;
  } catch (error) {
    const exit = await kill();
    throw new Error(`the service did not start (exit code ${exit.code}, signal ${exit.signal}): ${(error as Error).message}`);
  }
  const endpoints = Array.from({ length: workers }, (_, index) => formatEndpoint(host, firstPort + index));

  const groupsOf = (endpoint: string | undefined): number[] => {
    if (endpoint === undefined) return groups();
    const index = endpoints.indexOf(endpoint);
    if (index < 0) throw new Error(`${endpoint} is not an endpoint of this service (${endpoints.join(', ')})`);
    const group = workers > 1 ? serverGroups.get(firstPort + index) : pid;
    if (group === undefined) throw new Error(`no server is known to listen on ${endpoint}`);
    return [group];
  };

  return {
    endpoint: endpoints[0]!,
    endpoints,
    token,
    pid,
    process: child,
    lines,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitForLine,
    stop,
    kill,
    pause(endpoint) {
      for (const group of groupsOf(endpoint)) {
        killGroup(group, 'SIGSTOP');
        paused.add(group);
      }
    },
    resume(endpoint) {
      for (const group of groupsOf(endpoint)) {
        killGroup(group, 'SIGCONT');
        paused.delete(group);
      }
    },
  };
}
