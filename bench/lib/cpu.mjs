/**
 * CPU time of this Node process (process.cpuUsage) and of the Python processes serving it (utime
 * + stime of every thread, from /proc/<pid>/stat), so a figure can say where a call's cost goes.
 * Linux only for Python: elsewhere its figures are NaN.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const clockTicksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** CPU ms used so far by one process, or NaN when it is gone or /proc is missing. */
export function processCpuMs(pid) {
  try {
    // The command name may contain spaces and parentheses; the fields start after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond) * 1000;
  } catch {
    return Number.NaN;
  }
}

function pythonCpuMs(pids) {
  return pids.reduce((total, pid) => total + processCpuMs(pid), 0);
}

/**
 * Starts counting; the returned function stops and gives the CPU ms Node and the given Python
 * pids used in between. /proc counts in clock ticks (10 ms), so measure for a second or more.
 */
export function startCpuMeter(pythonPids) {
  const nodeBefore = process.cpuUsage();
  const pythonBefore = pythonCpuMs(pythonPids);
  return () => {
    const node = process.cpuUsage(nodeBefore);
    return { nodeCpuMs: (node.user + node.system) / 1000, pythonCpuMs: pythonCpuMs(pythonPids) - pythonBefore };
  };
}
