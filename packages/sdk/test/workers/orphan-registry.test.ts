import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logging.js';
import { createInMemoryAdapter } from '../../src/testing/index.js';
import { OrphanRegistry, readProcessStartTime, reapOrphans } from '../../src/workers/orphan-registry.js';
import { temporaryDataDir } from '../pool/pool-test-support.js';
import { createPool } from '../../src/pool/pool.js';

const linux = process.platform === 'linux';
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

/** A detached `sleep 1000`, standing in for a worker (its own process group, like real workers). */
async function sleeper(): Promise<ChildProcess & { pid: number }> {
  const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return child as ChildProcess & { pid: number };
}

function exitOf(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
}

/** The pid of a process that has exited (and been reaped), so it belongs to no one now. */
async function deadPid(): Promise<number> {
  const child = spawn('true', [], { stdio: 'ignore' });
  await exitOf(child);
  return child.pid!;
}

function writeRegistry(dir: string, name: string, owner: { pid: number; startTime: number | null }, workers: Array<{ pid: number; startTime: number | null }>) {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    JSON.stringify({ version: 1, owner, workers: workers.map((worker, index) => ({ workerId: `w${index + 1}`, ...worker })) }),
  );
  return file;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.runIf(linux)('orphan registry', () => {
  it('reads process start times from /proc', () => {
    const own = readProcessStartTime(process.pid);
    expect(typeof own).toBe('number');
    expect(own).toBeGreaterThan(0);
    expect(readProcessStartTime(2 ** 22 + 12_345)).toBeNull();
  });

  it('kills the workers of a pool whose process is gone when a new pool starts, and deletes its file', async () => {
    const dataDir = temporaryDataDir();
    const orphan = await sleeper();
    const file = writeRegistry(dataDir, 'dead-owner.json', { pid: await deadPid(), startTime: 1 }, [
      { pid: orphan.pid, startTime: readProcessStartTime(orphan.pid) },
    ]);
    const pool = createPool({ adapter: createInMemoryAdapter({ tools: {} }), size: 1, dataDir });
    try {
      expect(await exitOf(orphan)).toBe('SIGKILL');
      expect(alive(orphan.pid)).toBe(false);
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      await pool.close();
    }
  });

  it('never touches the file or workers of a live pool', async () => {
    const dataDir = temporaryDataDir();
    const liveOwner = await sleeper();
    const worker = await sleeper();
    const file = writeRegistry(dataDir, 'live-owner.json', { pid: liveOwner.pid, startTime: readProcessStartTime(liveOwner.pid) }, [
      { pid: worker.pid, startTime: readProcessStartTime(worker.pid) },
    ]);
    const ownProcess = writeRegistry(dataDir, 'this-process.json', { pid: process.pid, startTime: readProcessStartTime(process.pid) }, [
      { pid: worker.pid, startTime: readProcessStartTime(worker.pid) },
    ]);
    expect(reapOrphans(dataDir, silentLogger).killed).toEqual([]);
    expect(fs.existsSync(file)).toBe(true);
    expect(fs.existsSync(ownProcess)).toBe(true);
    expect(alive(worker.pid)).toBe(true);
  });

  it('treats an owner pid reused by another process as gone, and spares a worker pid reused by another process', async () => {
    const dataDir = temporaryDataDir();
    const reusedOwner = await sleeper();
    const reusedWorker = await sleeper();
    const file = writeRegistry(dataDir, 'reused.json', { pid: reusedOwner.pid, startTime: 1 }, [
      // Recorded with a different start time: that pid is someone else's process now.
      { pid: reusedWorker.pid, startTime: 1 },
    ]);
    expect(reapOrphans(dataDir, silentLogger).killed).toEqual([]);
    expect(fs.existsSync(file)).toBe(false);
    expect(alive(reusedWorker.pid)).toBe(true);
    expect(alive(reusedOwner.pid)).toBe(true);
  });

  it('leaves unreadable files and other files alone', () => {
    const dataDir = temporaryDataDir();
    fs.writeFileSync(path.join(dataDir, 'garbage.json'), '{not json');
    fs.writeFileSync(path.join(dataDir, 'notes.txt'), 'hello');
    expect(reapOrphans(dataDir, silentLogger).killed).toEqual([]);
    expect(fs.readdirSync(dataDir).sort()).toEqual(['garbage.json', 'notes.txt']);
    expect(reapOrphans(path.join(dataDir, 'missing'), silentLogger).killed).toEqual([]);
  });

  it("keeps its own file up to date with its workers and removes it on close", async () => {
    const dataDir = temporaryDataDir();
    const registry = new OrphanRegistry(dataDir, silentLogger);
    const worker = await sleeper();
    registry.add('w1', worker.pid);
    registry.add('w2', undefined);
    const written = JSON.parse(fs.readFileSync(registry.path, 'utf8'));
    expect(written).toEqual({
      version: 1,
      owner: { pid: process.pid, startTime: readProcessStartTime(process.pid) },
      workers: [{ workerId: 'w1', pid: worker.pid, startTime: readProcessStartTime(worker.pid) }],
    });
    expect(path.basename(registry.path)).toMatch(new RegExp(`^${process.pid}-\\d+-[0-9a-f]{8}\\.json$`));
    registry.remove('w1');
    expect(JSON.parse(fs.readFileSync(registry.path, 'utf8')).workers).toEqual([]);
    registry.close();
    expect(fs.existsSync(registry.path)).toBe(false);
  });

  it('a file left by a dead owner whose worker is already gone is just deleted', async () => {
    const dataDir = temporaryDataDir();
    const file = writeRegistry(dataDir, 'stale.json', { pid: await deadPid(), startTime: 1 }, [{ pid: await deadPid(), startTime: 5 }]);
    expect(reapOrphans(dataDir, silentLogger).killed).toEqual([]);
    expect(fs.existsSync(file)).toBe(false);
  });
});
