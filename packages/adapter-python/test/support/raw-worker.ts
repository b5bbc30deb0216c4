/**
 * One real Python worker started directly (no pool, no host bridge, no heartbeat), called over
 * gRPC with the sdk's wire-level harness, and the checks that it still serves after a batch of
 * hostile requests. Shared by the worker-* integration tests.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { isProcessAlive, startWorkerHarness, type WorkerHarness } from '@snakepit/sdk/testing';
import { pythonPackageRoot } from '../../src/index.js';
import { showcase, testPython } from '../python-under-test.js';

/** Every call's deadline. */
export const callTimeoutMs = 10_000;

/** FUZZ_VERBOSE=1 prints every case's outcome and the worker's logs (to see what it answered, not just that it passed). */
export const verbose = process.env.FUZZ_VERBOSE === '1';

const encoder = new TextEncoder();
export const utf8 = (text: string) => encoder.encode(text);
export const json = (value: unknown) => utf8(JSON.stringify(value));
const fromJson = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes));

/** The worker a test file pokes at, started before its tests and stopped after them. */
export class RawWorker {
  private started: WorkerHarness | undefined;

  get harness(): WorkerHarness {
    if (this.started === undefined) throw new Error('the raw worker is used before beforeAll started it');
    return this.started;
  }

  get client(): WorkerHarness['client'] {
    return this.harness.client;
  }

  get pid(): number {
    return this.harness.pid;
  }

  get port(): number {
    return this.harness.port;
  }

  get token(): string {
    return this.harness.token;
  }

  /** Call options of an authenticated call. */
  get auth(): { headers: Record<string, string>; timeoutMs: number } {
    return { headers: { ...this.harness.authorization }, timeoutMs: callTimeoutMs };
  }

  /** The worker's last log lines, for a failure message. */
  recentLogs(count = 20): string {
    return this.harness.logs
      .slice(-count)
      .map((record) => `[${record.source}/${record.level}] ${record.message}`)
      .join('\n');
  }

  /** Spawns `python -m snakepit_bridge.server` the way the process-mode adapter does. */
  async start(adapter = showcase): Promise<void> {
    const inherited = process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [];
    this.started = await startWorkerHarness({
      workerId: 'fuzz',
      spec: {
        command: testPython,
        args: ['-u', '-m', 'snakepit_bridge.server', '--adapter', adapter, '--control-fd', '3', '--mode', 'process'],
        env: { ...process.env, PYTHONPATH: [pythonPackageRoot, ...inherited].join(':'), PYTHONUNBUFFERED: '1' },
      },
    });
  }

  async stop(): Promise<void> {
    if (this.started === undefined) return;
    if (verbose) console.log(`worker logs:\n${this.recentLogs(Infinity)}`);
    await this.started.stop();
  }

  /** `add(a, b)` answers a + b. */
  async addOk(a: number, b: number): Promise<void> {
    const response = await this.client.executeTool({ call: { toolName: 'add', jsonParameters: { a: json(a), b: json(b) } } }, this.auth);
    expect(response.error).toBeUndefined();
    expect(response.result?.kind.case).toBe('json');
    expect(fromJson(response.result!.kind.value as Uint8Array)).toBe(a + b);
  }

  /** The worker still serves a valid call correctly, and its process is alive. */
  async expectServing(): Promise<void> {
    expect(isProcessAlive(this.pid), `worker ${this.pid} died; last logs:\n${this.recentLogs()}`).toBe(true);
    expect(this.harness.hasExited).toBe(false);
    await this.addOk(40, 2);
    const ping = await this.client.ping({ message: 'still there?' }, this.auth);
    expect(ping.message).toBe('still there?');
    expect(ping.info?.pid).toBe(this.pid);
  }

  /** The showcase's named counter, which `counter(name)` increments. */
  async counterValue(name: string): Promise<number> {
    const response = await this.client.executeTool({ call: { toolName: 'counter_value', jsonParameters: { name: json(name) } } }, this.auth);
    expect(response.error).toBeUndefined();
    return (fromJson(response.result!.kind.value as Uint8Array) as { value: number }).value;
  }
}

/** A raw worker for the tests of this file: started in beforeAll, stopped in afterAll. */
export function useRawWorker(): RawWorker {
  const worker = new RawWorker();
  beforeAll(() => worker.start());
  afterAll(() => worker.stop());
  return worker;
}
