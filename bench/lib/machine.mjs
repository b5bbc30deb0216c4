/** What the figures were measured on, read at run time so the JSON and the table say it. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { clockTicksPerSecond } from './cpu.mjs';
import { benchDirectory, pythonCommand, repositoryRoot } from './python.mjs';

function output(command, args, options = {}) {
  const run = spawnSync(command, args, { encoding: 'utf8', ...options });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/** e.g. "kvm guest, in a docker container", from systemd-detect-virt or the cpuinfo hypervisor flag. */
function virtualization() {
  const machine = output('systemd-detect-virt', ['--vm']);
  const container = output('systemd-detect-virt', ['--container']);
  let guest = machine ? `${machine} guest` : undefined;
  if (!guest) {
    try {
      if (/\bhypervisor\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))) guest = 'virtual machine';
    } catch {
      // not Linux: say nothing
    }
  }
  return [guest ?? 'no hypervisor found', container ? `in a ${container} container` : undefined].filter(Boolean).join(', ');
}

function packageVersion(name) {
  const require = createRequire(path.join(benchDirectory, 'package.json'));
  // Not every package exports ./package.json: walk up from its entry point to its own.
  for (let folder = path.dirname(require.resolve(name)); folder !== path.dirname(folder); folder = path.dirname(folder)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8'));
      if (manifest.name === name) return manifest.version;
    } catch {
      // no package.json here: keep walking
    }
  }
  return undefined;
}

function pythonVersions() {
  const script = [
    'import json, platform, grpc, google.protobuf',
    'print(json.dumps({"python": platform.python_version(), "grpcio": grpc.__version__, "protobuf": google.protobuf.__version__}))',
  ].join('\n');
  const text = output(pythonCommand(), ['-c', script]);
  return text ? JSON.parse(text) : { python: 'unknown' };
}

export function describeMachine() {
  const changedFiles = output('git', ['--no-optional-locks', 'status', '--porcelain'], { cwd: repositoryRoot });
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    logicalCpus: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    virtualization: virtualization(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    ...pythonVersions(),
    pythonInterpreter: pythonCommand(),
    packages: Object.fromEntries(
      ['@snakepit/sdk', 'python-shell', '@connectrpc/connect-node'].map((name) => [name, packageVersion(name)]),
    ),
    gitCommit: output('git', ['rev-parse', '--short', 'HEAD'], { cwd: repositoryRoot }),
    gitChangedFiles: changedFiles === undefined ? undefined : changedFiles.split('\n').filter(Boolean).length,
  };
}

/** Busy and stolen clock ticks of the whole machine so far, from /proc/stat. */
function machineTicks() {
  const total = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, , , irq, softirq, steal] = total.trim().split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq, steal };
}

/** CPU ticks of this process and of every descendant that has exited and been waited for. */
function ownTreeTicks() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const [utime, stime, childrenUtime, childrenStime] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(11, 15).map(Number);
  return utime + stime + childrenUtime + childrenStime;
}

/**
 * Starts watching how much CPU the rest of the machine takes while the bench runs: the machine's
 * busy time minus the bench's own (this process and its exited children: every measurement, its
 * Python processes included). The returned function gives the average in cores, and the time
 * the hypervisor stole. The machine's time is sampled per tick while a process's is exact, so on
 * a quiet machine the figure can come out slightly below 0. Linux only; undefined elsewhere.
 */
export function startBackgroundMeter() {
  try {
    const startedAt = performance.now();
    const machineBefore = machineTicks();
    const ownBefore = ownTreeTicks();
    return () => {
      const seconds = (performance.now() - startedAt) / 1000;
      const machine = machineTicks();
      const cores = (ticks) => ticks / clockTicksPerSecond / seconds;
      return {
        otherProcessesCores: cores(machine.busy - machineBefore.busy - (ownTreeTicks() - ownBefore)),
        stolenCores: cores(machine.steal - machineBefore.steal),
      };
    };
  } catch {
    return () => undefined;
  }
}

export function loadAverages() {
  return os.loadavg();
}
