/**
 * A real DNS server for tests: Debian's `dnsmasq` (package dnsmasq-base, or $DNSMASQ) on a free
 * loopback port, answering only from its own records: A/AAAA records from a hosts file that a test
 * rewrites (dnsmasq re-reads it on SIGHUP) and SRV records fixed at start. It is the only authority
 * for names under `.test`, so an unknown name there is NXDOMAIN and a missing record type NODATA,
 * as from a real zone; nothing is forwarded anywhere. A missing binary is an error naming what to
 * install, never a skipped test.
 *
 * The server runs under a small shell that kills it when this process's end of its stdin closes,
 * so a test process that dies (even by SIGKILL) leaves no dnsmasq behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Host name -> its addresses (IPv4 and IPv6 alike). Every name must end in ".test". */
export type HostRecords = Record<string, readonly string[]>;

export interface SrvRecord {
  /** The SRV name, e.g. "_grpc._tcp.fleet.test". */
  name: string;
  target: string;
  port: number;
}

export interface Dnsmasq {
  /** The server's address for Resolver.setServers / discover.servers: "127.0.0.1:<port>". */
  readonly server: string;
  /** Replaces every A/AAAA record; resolves once dnsmasq has re-read them. */
  setHosts(hosts: HostRecords): Promise<void>;
  /** SIGSTOP / SIGCONT: queries get no answer at all, as from an overloaded or unreachable server. */
  pause(): void;
  resume(): void;
  /** Stops it for good (queries are then refused by the closed port) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

// Debian puts it in /usr/sbin, which is not on a non-root user's PATH.
const binary = process.env.DNSMASQ ?? (existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq');

export const missingDnsmasqMessage =
  `dnsmasq was not found (looked for "${binary}"). The DNS discovery tests need a real DNS server: ` +
  'install Debian\'s package with `apt-get install -y dnsmasq-base` (as root; `node scripts/setup.mjs` does it when it can), ' +
  'or set DNSMASQ to the path of a dnsmasq binary.';

function assertDnsmasqInstalled(): void {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) throw new Error(missingDnsmasqMessage);
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

function hostsFileText(hosts: HostRecords): string {
  return Object.entries(hosts)
    .flatMap(([name, addresses]) => {
      if (!name.endsWith('.test')) throw new Error(`dnsmasq test records must be under .test, not ${name}`);
      return addresses.map((address) => `${address} ${name}\n`);
    })
    .join('');
}

// The dnsmasq pid on the first line; dnsmasq is killed when stdin (kept on fd 3) reaches EOF; the
// shell exits with dnsmasq.
const supervisor = [
  'exec 3<&0',
  '"$0" "$@" </dev/null &',
  'pid=$!',
  'echo "$pid"',
  '( read -r _ <&3; kill -9 "$pid" 2>/dev/null ) &',
  'wait "$pid"',
].join('\n');

/** True once the server answers a query, whatever the answer. */
async function answers(server: string): Promise<boolean> {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([server]);
  try {
    await resolver.resolve4('probe.test');
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ECONNREFUSED' && code !== 'ETIMEOUT';
  }
}

interface Running {
  shell: ChildProcess;
  pid: number;
  exited: Promise<void>;
  /** dnsmasq's last log lines (it logs to stderr). */
  output: string[];
  /** Listeners for each new log line. */
  lineListeners: Set<(line: string) => void>;
}

async function launch(port: number, hostsFile: string, srv: readonly SrvRecord[]): Promise<Running> {
  const args = [
    '--keep-in-foreground',
    '--log-facility=-',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--conf-file=/dev/null',
    '--pid-file=',
    '--no-resolv',
    '--no-hosts',
    `--addn-hosts=${hostsFile}`,
    // The only authority for .test: unknown names are NXDOMAIN, not REFUSED for want of an upstream.
    '--local=/test/',
    // dnsmasq drops root for its default user, which dnsmasq-base does not create.
    `--user=${os.userInfo().username}`,
    ...srv.map((record) => `--srv-host=${record.name},${record.target},${record.port}`),
  ];
  const shell = spawn('sh', ['-c', supervisor, binary, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const output: string[] = [];
  const lineListeners = new Set<(line: string) => void>();
  const exited = new Promise<void>((resolve) => shell.once('exit', () => resolve()));
  shell.stderr!.on('data', (data: Buffer) => {
    for (const line of data.toString('utf8').split('\n').filter(Boolean)) {
      output.push(line);
      for (const listener of lineListeners) listener(line);
    }
    output.splice(0, Math.max(0, output.length - 50));
  });
  const pid = await new Promise<number>((resolve, reject) => {
    shell.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString('utf8').split('\n')[0])));
    shell.once('error', reject);
    shell.once('exit', (code) => reject(new Error(`dnsmasq exited at once (${code}): ${output.join('\n')}`)));
  });
  const server = `127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  while (!(await answers(server))) {
    if (exitedEarly) throw new Error(`dnsmasq exited before answering on ${server}:\n${output.join('\n')}`);
    if (Date.now() > deadline) {
      shell.stdin!.end();
      throw new Error(`dnsmasq did not answer on ${server} within 10 s:\n${output.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { shell, pid, exited, output, lineListeners };
}

export async function startDnsmasq(records: { hosts: HostRecords; srv?: readonly SrvRecord[] }): Promise<Dnsmasq> {
  assertDnsmasqInstalled();
  const folder = mkdtempSync(path.join(os.tmpdir(), 'snakepit-dnsmasq-'));
  const hostsFile = path.join(folder, 'hosts');
  writeFileSync(hostsFile, hostsFileText(records.hosts));
  let running: Running | undefined;
  let port = 0;
  for (let attempt = 0; running === undefined; attempt += 1) {
    port = await freeUdpPort();
    try {
      running = await launch(port, hostsFile, records.srv ?? []);
    } catch (error) {
      // Another process may have taken the port (UDP, or TCP, which dnsmasq takes too) meanwhile.
      if (attempt >= 3) {
        rmSync(folder, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const current = (): Running => {
    if (running === undefined) throw new Error('dnsmasq was stopped');
    return running;
  };

  return {
    server: `127.0.0.1:${port}`,
    async setHosts(hosts) {
      const { pid, lineListeners, output } = current();
      writeFileSync(hostsFile, hostsFileText(hosts));
      // dnsmasq logs "read <file> - N names" once it has re-read the file.
      await new Promise<void>((resolve, reject) => {
        const timeout = setTimeout(() => {
          lineListeners.delete(onLine);
          reject(new Error(`dnsmasq did not re-read ${hostsFile} within 5 s:\n${output.join('\n')}`));
        }, 5000);
        const onLine = (line: string) => {
          if (!line.includes(`read ${hostsFile}`)) return;
          clearTimeout(timeout);
          lineListeners.delete(onLine);
          resolve();
        };
        lineListeners.add(onLine);
        process.kill(pid, 'SIGHUP');
      });
    },
    pause() {
      process.kill(current().pid, 'SIGSTOP');
    },
    resume() {
      process.kill(current().pid, 'SIGCONT');
    },
    async stop() {
      const stopping = running;
      running = undefined;
      if (stopping !== undefined) {
        // SIGKILL works on a paused server too.
        process.kill(stopping.pid, 'SIGKILL');
        await stopping.exited;
        stopping.shell.stdin!.end();
      }
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
