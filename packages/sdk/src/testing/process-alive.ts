/** Whether a process still runs, for tests that check that nothing was left behind. */
import { readFileSync } from 'node:fs';

/** True while `pid` exists and is not a zombie waiting for its parent to reap it. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    // No procfs (not Linux): kill(0) is all we know.
    return process.platform !== 'linux';
  }
}
