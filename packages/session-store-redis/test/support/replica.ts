/** The test side of fixtures/replica.mjs: a child Node process driven over stdin/stdout. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..', '..');
const script = path.join(here, '..', 'fixtures', 'replica.mjs');

export const testPython = process.env.SNAKEPIT_PYTHON ?? path.join(root, '.venv', 'bin', 'python');

export interface ReplicaError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  pythonType?: string | null;
}

export type Outcome<T = unknown> = { ok: true; value: T; ms: number } | { ok: false; error: ReplicaError; ms: number };

export interface Replica {
  readonly pid: number;
  /** Runs one command in the replica; rejects (failing the test) when no answer comes in `limitMs`. */
  send<T = unknown>(op: string, params?: Record<string, unknown>, limitMs?: number): Promise<Outcome<T>>;
  /** Like `send`, but the command must succeed; resolves with its value. */
  value<T = unknown>(op: string, params?: Record<string, unknown>, limitMs?: number): Promise<T>;
  /** Like `send`, but the command must fail; resolves with its error and how long it took. */
  failure(op: string, params?: Record<string, unknown>, limitMs?: number): Promise<ReplicaError & { ms: number }>;
  exit(): Promise<void>;
}

export async function startReplica(name: string): Promise<Replica> {
  const child: ChildProcess = spawn(process.execPath, [script], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const pending = new Map<number, (outcome: Outcome) => void>();
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr.push(text);
    stderr.splice(0, Math.max(0, stderr.length - 100));
  });
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exit.then(() => (exited = true));
  const ready = new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`replica ${name} exited with ${code}: ${stderr.join('')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const { id, ...outcome } = JSON.parse(line) as { id: number } & Outcome;
      if (id === 0) resolve((outcome as { value: { pid: number } }).value.pid);
      pending.get(id)?.(outcome);
      pending.delete(id);
    });
  });
  const pid = await ready;

  function send<T>(op: string, params: Record<string, unknown> = {}, limitMs = 20_000): Promise<Outcome<T>> {
    if (exited) return Promise.reject(new Error(`replica ${name} has exited: ${stderr.join('')}`));
    const id = nextId++;
    return new Promise<Outcome<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`replica ${name}: ${op} did not answer within ${limitMs} ms (a hang)`));
      }, limitMs);
      pending.set(id, (outcome) => {
        clearTimeout(timer);
        resolve(outcome as Outcome<T>);
      });
      child.stdin!.write(`${JSON.stringify({ id, op, ...params })}\n`);
    });
  }

  return {
    pid,
    send,
    async value<T>(op: string, params?: Record<string, unknown>, limitMs?: number): Promise<T> {
      const outcome = await send<T>(op, params, limitMs);
      if (!outcome.ok) throw new Error(`replica ${name}: ${op} failed: ${JSON.stringify(outcome.error)}`);
      return outcome.value;
    },
    async failure(op: string, params?: Record<string, unknown>, limitMs?: number) {
      const outcome = await send(op, params, limitMs);
      if (outcome.ok) throw new Error(`replica ${name}: ${op} succeeded with ${JSON.stringify(outcome.value)}; expected a failure`);
      return { ...outcome.error, ms: outcome.ms };
    },
    async exit() {
      if (exited) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await send('exit', {}, 15_000).catch(() => child.kill('SIGKILL'));
      await exit;
      clearTimeout(timer);
    },
  };
}
