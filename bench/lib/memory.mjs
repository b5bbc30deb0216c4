/**
 * Memory of this Node process and of Python processes, from /proc (Linux only; 0 elsewhere).
 * RSS counts the pages of files every Python process maps (the interpreter, grpcio's library)
 * once per process, so summed over workers it overstates their cost. Anonymous memory (heap,
 * stacks, from smaps_rollup) is what each process allocated for itself: it does not depend on
 * which other processes happen to map the same files, as USS does, so it compares across runs
 * on a shared machine. What N workers cost lies between their anonymous sum and their RSS sum.
 */
import { readFileSync } from 'node:fs';

const kibibytesPerMebibyte = 1024;

function readKiB(file, pattern) {
  try {
    const match = pattern.exec(readFileSync(file, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export function rssMiB(pid) {
  return readKiB(`/proc/${pid}/status`, /^VmRSS:\s+(\d+)\s+kB/m) / kibibytesPerMebibyte;
}

export function anonymousMiB(pid) {
  return readKiB(`/proc/${pid}/smaps_rollup`, /^Anonymous:\s+(\d+)\s+kB/m) / kibibytesPerMebibyte;
}

export function totalRssMiB(pids) {
  return pids.reduce((total, pid) => total + rssMiB(pid), 0);
}

export function totalAnonymousMiB(pids) {
  return pids.reduce((total, pid) => total + anonymousMiB(pid), 0);
}

/**
 * Samples Node's RSS and the Python pids' summed RSS every `everyMs` until stopped; returns the
 * series (ms since start, MiB) and each side's peak growth over its first sample.
 */
export function startMemorySampler(pythonPids, everyMs) {
  const startedAt = performance.now();
  const series = [];
  const sample = () => {
    series.push({
      atMs: Math.round(performance.now() - startedAt),
      nodeRssMiB: process.memoryUsage.rss() / 2 ** 20,
      pythonRssMiB: totalRssMiB(pythonPids),
    });
  };
  const growth = (key) => Math.max(...series.map((point) => point[key])) - series[0][key];
  sample();
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    return { series, nodeRssGrowthMiB: growth('nodeRssMiB'), pythonRssGrowthMiB: growth('pythonRssMiB') };
  };
}
