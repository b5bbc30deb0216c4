/**
 * One real Python worker started directly (no pool, no host bridge, no heartbeat), called over
 * gRPC with the sdk's wire-level harness, and the checks that it still serves after a batch of
 * hostile requests. Shared by the worker-* integration tests. `served: true` makes it a worker run
 * as a service (`python -m snakepit_bridge.serve`) reached over TLS, as a remote pool reaches it:
 * the same hostile requests then come from the network.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { connectWorkerClient, isProcessAlive, startWorkerHarness, type WorkerClient } from '@snakepit/sdk/testing';
import { pythonPackageRoot } from '../../src/index.js';
import { showcase, testPython } from '../python-under-test.js';
import type { RawTarget } from './raw-grpc.js';
import { makeTlsFixture, type TlsFixture } from './tls-certificates.js';
import { startWorkerService, type WorkerServiceProcess } from './worker-service.js';

/** Every call's deadline. */
export const callTimeoutMs = 10_000;

/** FUZZ_VERBOSE=1 prints every case's outcome and the worker's logs (to see what it answered, not just that it passed). */
export const verbose = process.env.FUZZ_VERBOSE === '1';

const encoder = new TextEncoder();
export const utf8 = (text: string) => encoder.encode(text);
export const json = (value: unknown) => utf8(JSON.stringify(value));
const fromJson = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes));

/** What a RawWorker is running on: a process spawned as a pool spawns it, or a service over TLS. */
interface RawTargetState {
  connection: WorkerClient;
  pid: number;
  target: RawTarget;
  hasExited(): boolean;
  logs(count: number): string;
  stop(): Promise<unknown>;
}

/** The worker a test file pokes at, started before its tests and stopped after them. */
export class RawWorker {
  private started: RawTargetState | undefined;

  constructor(readonly served = false) {}

  private get state(): RawTargetState {
    if (this.started === undefined) throw new Error('the raw worker is used before beforeAll started it');
    return this.started;
  }

  /** The client, its token and its call channels. */
  get harness(): WorkerClient {
    return this.state.connection;
  }

  get client(): WorkerClient['client'] {
    return this.harness.client;
  }

  get pid(): number {
    return this.state.pid;
  }

  /** Where raw HTTP/2 requests (raw-grpc.ts) go. */
  get target(): RawTarget {
    return this.state.target;
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
    return this.state.logs(count);
  }

  /** Spawns `python -m snakepit_bridge.server` the way the process-mode adapter does, or serves `adapter` over TLS. */
  async start(adapter = showcase): Promise<void> {
    this.started = this.served ? await RawWorker.serve(adapter) : await RawWorker.spawn(adapter);
  }

  private static async spawn(adapter: string): Promise<RawTargetState> {
    const inherited = process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [];
    const harness = await startWorkerHarness({
      workerId: 'fuzz',
      spec: {
        command: testPython,
        args: ['-u', '-m', 'snakepit_bridge.server', '--adapter', adapter, '--control-fd', '3', '--mode', 'process'],
        env: { ...process.env, PYTHONPATH: [pythonPackageRoot, ...inherited].join(':'), PYTHONUNBUFFERED: '1' },
      },
    });
    return {
      connection: { ...harness, close: () => {} },
      pid: harness.pid,
      target: harness.port,
      hasExited: () => harness.hasExited,
      logs: (count) =>
        harness.logs
          .slice(-count)
          .map((record) => `[${record.source}/${record.level}] ${record.message}`)
          .join('\n'),
      stop: () => harness.stop(),
    };
  }

  private static async serve(adapter: string): Promise<RawTargetState> {
    const certificates: TlsFixture = await makeTlsFixture();
    const service: WorkerServiceProcess = await startWorkerService({
      adapter,
      host: '127.0.0.1',
      tlsCert: certificates.server.certPath,
      tlsKey: certificates.server.keyPath,
      // Room for a burst of concurrent hostile calls: they wait for the one slot instead of being refused as busy.
      admissionQueue: 128,
      admissionTimeoutMs: 30_000,
    });
    const tls = { ca: certificates.ca.cert };
    const connection = connectWorkerClient({ baseUrl: `https://${service.endpoint}`, token: service.token, tls });
    let exited = false;
    void service.exited.then(() => (exited = true));
    return {
      connection,
      pid: service.pid,
      target: { endpoint: service.endpoint, tls },
      hasExited: () => exited,
      logs: (count) => [...service.lines.slice(-count).map((line) => JSON.stringify(line)), service.stderr.slice(-2_000)].join('\n'),
      async stop() {
        connection.close();
        await service.stop();
        await certificates.cleanup();
      },
    };
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
    expect(this.state.hasExited()).toBe(false);
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

/** A raw worker for the tests of this file (or of one describe block): started in beforeAll, stopped in afterAll. */
export function useRawWorker(options: { served?: boolean } = {}): RawWorker {
  const worker = new RawWorker(options.served ?? false);
  beforeAll(() => worker.start());
  afterAll(() => worker.stop());
  return worker;
}
