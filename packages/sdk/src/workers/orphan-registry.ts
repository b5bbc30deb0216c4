/**
 * The safety net behind the workers' own parent-death watchdog: each pool keeps a small JSON file
 * in `dataDir` listing its workers' pids, and every new pool reaps the workers of pools whose Node
 * process is gone (SIGKILLed, OOM-killed...). Pids get reused, so on Linux a process is identified
 * by pid plus start time (/proc/<pid>/stat field 22): a pid whose start time differs is someone
 * else's process and is never touched. Without start times (other systems) nothing is killed.
 * Everything here is best effort: failures are logged, never thrown.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../observability/logging.js';

interface RecordedProcess {
  pid: number;
  /** Clock ticks after boot, or null where the system does not tell. */
  startTime: number | null;
}

interface RegistryFile {
  version: 1;
  owner: RecordedProcess;
  workers: Array<RecordedProcess & { workerId: string }>;
}

/** The start time of a process, or null (not Linux, no such process, unreadable). */
export function readProcessStartTime(pid: number): number | null {
  if (process.platform !== 'linux') return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // afterName[0] is field 3, so field 22 is afterName[19].
    const startTime = Number(afterName[19]);
    return Number.isFinite(startTime) ? startTime : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the recorded process still runs (and is the same process, where start times tell). */
function stillRunning(recorded: RecordedProcess): boolean {
  if (!isAlive(recorded.pid)) return false;
  if (recorded.startTime === null) return true;
  const current = readProcessStartTime(recorded.pid);
  return current === null || current === recorded.startTime;
}

function parseRegistryFile(text: string): RegistryFile | undefined {
  const isProcess = (value: unknown): value is RecordedProcess =>
    typeof value === 'object' &&
    value !== null &&
    Number.isInteger((value as RecordedProcess).pid) &&
    (value as RecordedProcess).pid > 0 &&
    ((value as RecordedProcess).startTime === null || typeof (value as RecordedProcess).startTime === 'number');
  try {
    const parsed = JSON.parse(text) as RegistryFile;
    if (parsed.version !== 1 || !isProcess(parsed.owner) || !Array.isArray(parsed.workers)) return undefined;
    if (!parsed.workers.every(isProcess)) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

function killGroup(worker: RecordedProcess, logger: Logger): boolean {
  // Only a process proven to be the recorded one: same pid and same start time.
  if (worker.startTime === null || readProcessStartTime(worker.pid) !== worker.startTime) return false;
  try {
    process.kill(-worker.pid, 'SIGKILL');
    return true;
  } catch {
    try {
      process.kill(worker.pid, 'SIGKILL');
      return true;
    } catch (error) {
      logger.warn({ pid: worker.pid, error }, 'could not kill an orphaned worker');
      return false;
    }
  }
}

/** Kills the workers of pools whose owner process is gone, and deletes their files. */
export function reapOrphans(dataDir: string, logger: Logger): { killed: number[] } {
  const killed: number[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ dataDir, error }, 'could not scan for orphaned workers');
    return { killed };
  }
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(dataDir, name);
    try {
      const registry = parseRegistryFile(fs.readFileSync(file, 'utf8'));
      // A file we cannot read may belong to a live pool of another version: leave it.
      if (registry === undefined || stillRunning(registry.owner)) continue;
      const killedHere = registry.workers.filter((worker) => killGroup(worker, logger)).map((worker) => worker.pid);
      killed.push(...killedHere);
      fs.rmSync(file, { force: true });
      logger.info({ file, killed: killedHere }, 'reaped the workers of a pool whose process is gone');
    } catch (error) {
      logger.warn({ file, error }, 'could not reap orphaned workers');
    }
  }
  return { killed };
}

/** This pool's own file, rewritten whenever a worker starts or exits and removed on close. */
export class OrphanRegistry {
  private readonly workers = new Map<string, RecordedProcess>();
  private readonly owner: RecordedProcess;
  private readonly file: string;
  private closed = false;

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
  ) {
    this.owner = { pid: process.pid, startTime: readProcessStartTime(process.pid) };
    // Several pools may live in one process: a random suffix keeps their files apart.
    const name = `${this.owner.pid}-${this.owner.startTime ?? 'na'}-${randomBytes(4).toString('hex')}.json`;
    this.file = path.join(dataDir, name);
  }

  get path(): string {
    return this.file;
  }

  add(workerId: string, pid: number | undefined): void {
    if (this.closed || pid === undefined) return;
    this.workers.set(workerId, { pid, startTime: readProcessStartTime(pid) });
    this.write();
  }

  remove(workerId: string): void {
    if (this.closed || !this.workers.delete(workerId)) return;
    this.write();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.rmSync(this.file, { force: true });
    } catch (error) {
      this.logger.warn({ file: this.file, error }, 'could not remove the worker registry file');
    }
  }

  private write(): void {
    const contents: RegistryFile = {
      version: 1,
      owner: this.owner,
      workers: [...this.workers].map(([workerId, worker]) => ({ workerId, ...worker })),
    };
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
      // Write then rename, so a reader never sees half a file.
      fs.writeFileSync(temporary, JSON.stringify(contents), { mode: 0o600 });
      fs.renameSync(temporary, this.file);
    } catch (error) {
      this.logger.warn({ file: this.file, error }, 'could not update the worker registry file');
    }
  }
}
