// Process mode vs threaded mode at the same concurrency: pool(4) of process-mode workers against
// pool(1) of one threaded worker with 4 threads. Not a test: figures only.
//   node bench/threaded-vs-process.mjs [--quick] [--hash-size-mb N] [--hash-rounds N]
// Workloads, each run for a fixed time per mode with a fixed number of calls in flight:
//   sleep  `sleep_sync` 50 ms (a blocking sleep: releases the GIL), 64 calls in flight
//   hash   `hash_work` (hashlib.sha256 over a fresh buffer: releases the GIL), 16 calls in flight;
//          by default 8 MiB x 6 rounds, ~30-40 ms for one call alone on the 2-core dev machine (the
//          bench prints what one call alone took; tune with --hash-size-mb / --hash-rounds)
// Both pools stay up and take turns in slices (process, threaded, threaded, process, ...), so load
// from other processes on a shared machine falls on both modes alike.
// Columns (sums over the pids in pool.listWorkers(), read from /proc: Linux only, n/a elsewhere):
//   calls/s, p50/p99  latency end to end (queue wait + run: with more calls in flight than the
//                     capacity of 4 it is mostly queueing, by Little's law)
//   CPU ms/call       the workers' utime + stime (all threads) per call: stable when other
//                     processes compete for the cores, unlike calls/s
//   cores             the workers' CPU time / wall time: below ~1.8 on 2 cores means the workers
//                     were starved (other load), which explains a low calls/s
//   peak RSS          sum of VmRSS (/proc/<pid>/status), sampled every 25 ms during the run
//   idle RSS, USS     after the run, idle: VmRSS counts the pages the workers share (the interpreter,
//                     grpcio's library) once per process; USS (Private_Clean + Private_Dirty from
//                     /proc/<pid>/smaps_rollup) counts only each process's own pages
// Both modes host the same adapter class (ThreadedShowcaseAdapter; process mode ignores its
// thread-safety declaration), so the Python code is identical and only the server mode differs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createPool } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';
import { threadedPythonAdapter } from '@snakepit/adapter-python-threaded';

// Workers run in the repository root, so its ./.venv is found wherever the bench is started from.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const durationMs = quick ? 2000 : 8000;
const slices = quick ? 2 : 4;
const adapterClass = 'snakepit_bridge.adapters.showcase_threaded.ThreadedShowcaseAdapter';
const concurrency = 4;
const sampleEveryMs = 25;

function numberOption(name, fallback) {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} needs a positive integer`);
  return value;
}

const hashSizeMb = numberOption('--hash-size-mb', 8);
const hashRounds = numberOption('--hash-rounds', 6);

const modes = [
  {
    label: `process  pool(${concurrency})`,
    adapter: pythonAdapter({ adapter: adapterClass, cwd: root }),
    size: concurrency,
  },
  {
    label: `threaded pool(1)x${concurrency}`,
    adapter: threadedPythonAdapter({ adapter: adapterClass, cwd: root, threadsPerWorker: concurrency }),
    size: 1,
  },
];

function percentile(sorted, fraction) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/** VmRSS of one process in KiB, or 0 when it is gone (or not on Linux). */
function rssKiB(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system, all threads) of one process so far, or NaN. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function workersCpuSeconds(pool) {
  let total = 0;
  for (const worker of pool.listWorkers()) if (worker.pid !== undefined) total += cpuSeconds(worker.pid);
  return total;
}

/**
 * Unique set size in KiB: the pages only this process maps (Private_Clean + Private_Dirty), which
 * is what its exit would give back. Unlike PSS it does not depend on which other processes (the
 * other pool) share the interpreter's and grpcio's pages. 0 when unreadable.
 */
function ussKiB(pid) {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const clean = /^Private_Clean:\s+(\d+)\s+kB/m.exec(rollup);
    const dirty = /^Private_Dirty:\s+(\d+)\s+kB/m.exec(rollup);
    return clean && dirty ? Number(clean[1]) + Number(dirty[1]) : 0;
  } catch {
    return 0;
  }
}

function workersUssKiB(pool) {
  let total = 0;
  for (const worker of pool.listWorkers()) if (worker.pid !== undefined) total += ussKiB(worker.pid);
  return total;
}

function workersRssKiB(pool) {
  let total = 0;
  for (const worker of pool.listWorkers()) if (worker.pid !== undefined) total += rssKiB(worker.pid);
  return total;
}

async function allReady(pool, size) {
  await pool.ready();
  const giveUpAt = performance.now() + 30_000;
  while (pool.listWorkers().filter((worker) => worker.state === 'ready').length < size) {
    if (performance.now() > giveUpAt) throw new Error(`only some of ${size} workers became ready`);
    await sleep(20);
  }
}

/**
 * One slice: `inFlight` lanes call `tool` back to back until `ms` is over; the calls already
 * started then finish (the workers stay saturated while the queue drains). Adds to `totals`.
 */
async function slice(pool, tool, args, inFlight, ms, totals) {
  const sampler = setInterval(() => {
    totals.peakRss = Math.max(totals.peakRss, workersRssKiB(pool));
  }, sampleEveryMs);
  const cpuBefore = workersCpuSeconds(pool);
  const until = performance.now() + ms;
  async function lane() {
    while (performance.now() < until) {
      const startedAt = performance.now();
      try {
        await pool.execute(tool, args);
        totals.latencies.push(performance.now() - startedAt);
      } catch (error) {
        const code = error?.code ?? String(error);
        totals.errors.set(code, (totals.errors.get(code) ?? 0) + 1);
      }
    }
  }
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  totals.elapsedMs += performance.now() - startedAt;
  totals.workerCpuMs += (workersCpuSeconds(pool) - cpuBefore) * 1000;
  clearInterval(sampler);
  totals.peakRss = Math.max(totals.peakRss, workersRssKiB(pool));
}

function newTotals() {
  return { latencies: [], errors: new Map(), elapsedMs: 0, workerCpuMs: 0, peakRss: 0 };
}

function summarize(totals) {
  const latencies = totals.latencies.sort((a, b) => a - b);
  return {
    callsPerSecond: (latencies.length / totals.elapsedMs) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuMsPerCall: totals.workerCpuMs / latencies.length,
    cores: totals.workerCpuMs / totals.elapsedMs,
    peakRss: totals.peakRss,
    errors: [...totals.errors].map(([code, count]) => `${code} x${count}`).join(', '),
  };
}

/** Median wall time of one `hash_work` call with nothing else running, after one warm-up call. */
async function hashAloneMs(pool, hashArgs) {
  await pool.execute('hash_work', hashArgs);
  const samples = [];
  for (let index = 0; index < 3; index++) {
    const startedAt = performance.now();
    await pool.execute('hash_work', hashArgs);
    samples.push(performance.now() - startedAt);
  }
  return samples.sort((a, b) => a - b)[1];
}

const format = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const mib = (kib) => (kib > 0 ? (kib / 1024).toFixed(1) : 'n/a');

const benchStartedAt = performance.now();
const hashArgs = { size_mb: hashSizeMb, rounds: hashRounds };
// sleep first: the hash buffers raise the workers' RSS for good (the allocator keeps them).
const workloads = [
  { name: 'sleep', tool: 'sleep_sync', args: { ms: 50 }, inFlight: 64 },
  { name: 'hash', tool: 'hash_work', args: hashArgs, inFlight: 16 },
];
const rows = [];

// Both pools are started one after the other (so each start-to-ready figure is undisturbed) and
// then kept: the modes take turns in slices (process, threaded, threaded, process, ...) so that
// other load on a shared machine falls on both alike instead of on whichever ran last.
try {
  for (const mode of modes) {
    const startedAt = performance.now();
    mode.pool = createPool({ adapter: mode.adapter, size: mode.size, maxQueue: 10_000 });
    await allReady(mode.pool, mode.size);
    mode.startupMs = performance.now() - startedAt;
    mode.startupRss = workersRssKiB(mode.pool);
  }
  for (const workload of workloads) {
    const totals = new Map(modes.map((mode) => [mode, newTotals()]));
    for (const mode of modes) {
      await slice(mode.pool, workload.tool, workload.args, concurrency, 300, newTotals()); // warm-up: every worker/thread once
      if (workload.name === 'hash') mode.hashAloneMs = await hashAloneMs(mode.pool, hashArgs);
    }
    for (let turn = 0; turn < slices; turn++) {
      const order = turn % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) {
        await slice(mode.pool, workload.tool, workload.args, workload.inFlight, durationMs / slices, totals.get(mode));
      }
    }
    await sleep(500); // let the workers settle, then take the idle figures
    for (const mode of modes) {
      rows.push({
        workload: workload.name,
        mode: mode.label,
        ...summarize(totals.get(mode)),
        idleRss: workersRssKiB(mode.pool),
        idleUss: workersUssKiB(mode.pool),
      });
    }
  }
} finally {
  await Promise.all(modes.map((mode) => mode.pool?.close()));
}

console.log(
  `threaded vs process, ${concurrency} calls at once per mode, ${durationMs / 1000} s per mode and workload` +
    ` in ${slices} alternating slices (${format((performance.now() - benchStartedAt) / 1000)} s in all)`,
);
console.log('  sleep: sleep_sync(ms=50), 64 in flight');
console.log(`  hash:  hash_work(size_mb=${hashSizeMb}, rounds=${hashRounds}), 16 in flight`);
console.log('  latency: end to end (queue wait + run). CPU ms/call, cores (worker CPU time / wall time), RSS, USS:');
console.log("  sums over the pool's worker processes\n");
const header =
  'workload  mode                  calls/s   p50 ms   p99 ms  CPU ms/call  cores  peak RSS MiB  idle RSS MiB  idle USS MiB';
console.log(header);
console.log('-'.repeat(header.length));
for (const row of rows) {
  console.log(
    `${row.workload.padEnd(10)}${row.mode.padEnd(22)}${format(row.callsPerSecond).padStart(7)}  ` +
      `${format(row.p50).padStart(7)}  ${format(row.p99).padStart(7)}  ${format(row.cpuMsPerCall, 2).padStart(11)}  ` +
      `${format(row.cores, 2).padStart(5)}  ${mib(row.peakRss).padStart(12)}  ${mib(row.idleRss).padStart(12)}  ` +
      `${mib(row.idleUss).padStart(12)}${row.errors ? `  errors: ${row.errors}` : ''}`,
  );
}
console.log('');
for (const mode of modes) {
  console.log(
    `${mode.label}: start-to-all-ready ${format(mode.startupMs, 0)} ms, RSS when ready ${mib(mode.startupRss)} MiB,` +
      ` one hash_work call alone ${format(mode.hashAloneMs)} ms`,
  );
}
