/**
 * Shared helpers for the pool's unit tests: a pool on the in-memory adapter with a private temp
 * dataDir, a set of tools tests commonly need, an event recorder, and cleanup after each test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { SnakepitError, type SnakepitErrorCode } from '../../src/errors.js';
import { createInMemoryAdapter, type InMemoryAdapter, type InMemoryAdapterOptions, type InMemoryTool } from '../../src/testing/index.js';
import { deferred, type Deferred } from '../../src/testing/deferred.js';
import type { PoolEventName, PoolEvents } from '../../src/observability/events.js';
import type { PoolOptions } from '../../src/pool/options.js';
import { createPool, type Pool } from '../../src/pool/pool.js';

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Polls until `check` passes (or throws its last failure). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(5);
    }
  }
}

/** Tools most tests use. `gates` lets a test hold a call until it decides to release it. */
export class Toolbox {
  readonly gates = new Map<string, Deferred<unknown>>();
  readonly started: string[] = [];
  readonly streamClosed = new Map<string, boolean>();
  readonly cancelled: string[] = [];

  gate(name: string): Deferred<unknown> {
    let gate = this.gates.get(name);
    if (gate === undefined) {
      gate = deferred<unknown>();
      this.gates.set(name, gate);
    }
    return gate;
  }

  release(name: string, value: unknown = name): void {
    this.gate(name).resolve(value);
  }

  readonly tools: Record<string, InMemoryTool> = {
    echo: (args) => args,
    whoami: (_args, context) => ({ workerId: context.workerId, sessionId: context.sessionId ?? null }),
    sleep: async (args, context) => {
      this.started.push(String(args.label ?? 'sleep'));
      try {
        await sleep(Number(args.ms), context.signal);
      } catch (error) {
        this.cancelled.push(String(args.label ?? 'sleep'));
        throw error;
      }
      return { slept: args.ms, label: args.label ?? null, workerId: context.workerId };
    },
    /** Waits until the test releases gate `name`. */
    wait: async (args, context) => {
      const name = String(args.name);
      this.started.push(name);
      const gate = this.gate(name);
      return await new Promise((resolve, reject) => {
        gate.promise.then(resolve, reject);
        context.signal.addEventListener(
          'abort',
          () => {
            this.cancelled.push(name);
            reject(context.signal.reason);
          },
          { once: true },
        );
      });
    },
    fail: (args) => {
      throw new TypeError(String(args.message ?? 'boom'));
    },
    ticks: (args, context) => {
      const name = String(args.name ?? 'ticks');
      const limit = Number(args.limit ?? 3);
      const delayMs = Number(args.delayMs ?? 0);
      const toolbox = this;
      toolbox.streamClosed.set(name, false);
      return (async function* () {
        try {
          for (let tick = 0; tick < limit; tick += 1) {
            if (delayMs > 0) await sleep(delayMs, context.signal);
            yield { tick };
          }
        } finally {
          toolbox.streamClosed.set(name, true);
        }
      })();
    },
  };
}

export interface RecordedEvent<E extends PoolEventName = PoolEventName> {
  name: E;
  payload: PoolEvents[E];
}

export class EventLog {
  readonly entries: RecordedEvent[] = [];

  constructor(pool: Pool, names: PoolEventName[]) {
    for (const name of names) pool.on(name, (payload) => void this.entries.push({ name, payload } as RecordedEvent));
  }

  of<E extends PoolEventName>(name: E): Array<PoolEvents[E]> {
    return this.entries.filter((entry) => entry.name === name).map((entry) => entry.payload as PoolEvents[E]);
  }
}

const openPools: Pool[] = [];
const dataDirs: string[] = [];

afterEach(async () => {
  await Promise.all(openPools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 2_000 })));
  for (const dir of dataDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

export function temporaryDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snakepit-pool-test-'));
  dataDirs.push(dir);
  return dir;
}

export interface TestPool {
  pool: Pool;
  adapter: InMemoryAdapter;
  toolbox: Toolbox;
}

/** A pool on the in-memory adapter, closed after the test. */
export function testPool(
  poolOptions: Omit<PoolOptions, 'adapter'> = {},
  adapterOptions: Partial<InMemoryAdapterOptions> = {},
): TestPool {
  const toolbox = new Toolbox();
  const adapter = createInMemoryAdapter({ ...adapterOptions, tools: { ...toolbox.tools, ...adapterOptions.tools } });
  // The in-memory adapter never calls back, so unit tests skip the bridge server unless they test it.
  const pool = createPool({ size: 1, dataDir: temporaryDataDir(), hostBridge: false, ...poolOptions, adapter });
  openPools.push(pool);
  return { pool, adapter, toolbox };
}

/** The SnakepitError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function failureOf(promise: Promise<unknown>): Promise<SnakepitError> {
  try {
    await promise;
  } catch (error) {
    if (!SnakepitError.isInstance(error)) throw new Error(`expected a SnakepitError, got ${String(error)}`);
    return error;
  }
  throw new Error('expected the promise to reject');
}

export async function expectCode(promise: Promise<unknown>, code: SnakepitErrorCode): Promise<SnakepitError> {
  const error = await failureOf(promise);
  if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}`);
  return error;
}
