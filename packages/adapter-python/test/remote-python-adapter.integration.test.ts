/**
 * remotePythonAdapter against real worker servers (`python -m snakepit_bridge.serve`) on loopback,
 * with TLS certificates made by openssl: calls, streams, typed errors, host tools and session state
 * travelling back on the call channel, the capacity the worker reports, every wrong credential
 * refused as `startup_failed` naming its cause, and two pools sharing one process-mode worker never
 * running two calls on it at once.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, SnakepitError, type Pool } from '@snakepit/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { remotePythonAdapter, type RemotePythonAdapterOptions } from '../src/index.js';
import { makeTlsFixture, type TlsFixture } from './support/tls-certificates.js';
import { startWorkerService, type WorkerServiceProcess } from './support/worker-service.js';

/** The showcase adapter plus `overlap`, which notices calls running at once. */
const overlapAdapter = 'overlap_adapter.OverlapAdapter';
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'python', 'tests', 'fixtures');

let certificates: TlsFixture;
let service: WorkerServiceProcess;
const pools: Pool[] = [];

function remotePool(options: Partial<RemotePythonAdapterOptions> = {}, poolOptions: Record<string, unknown> = {}): Pool {
  const pool = createPool({
    adapter: remotePythonAdapter({
      endpoints: [service.endpoint],
      tls: { ca: certificates.ca.cert },
      token: service.token,
      ...options,
    }),
    restartBackoff: { initialMs: 50, maxMs: 200 },
    ...poolOptions,
  });
  pools.push(pool);
  return pool;
}

/** The startup failure a pool over a misconfigured endpoint reports. */
async function startupError(options: Partial<RemotePythonAdapterOptions>): Promise<SnakepitError> {
  const pool = remotePool(options);
  const error = await pool.ready().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(SnakepitError.hasCode(error, 'startup_failed')).toBe(true);
  return (error as SnakepitError).cause as SnakepitError;
}

beforeAll(async () => {
  certificates = await makeTlsFixture();
  service = await startWorkerService({
    adapter: overlapAdapter,
    pythonPath: [fixtures],
    host: '127.0.0.1',
    // No admission queue: calls beyond the worker's capacity are refused, so refusals can be seen.
    admissionQueue: 0,
    tlsCert: certificates.server.certPath,
    tlsKey: certificates.server.keyPath,
  });
}, 60_000);

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

afterAll(async () => {
  await service?.stop();
  await certificates?.cleanup();
});

describe('a pool over a remote worker server', () => {
  it('runs calls and streams, with the capacity and info the worker reports', async () => {
    const pool = remotePool();
    await pool.ready();
    expect(await pool.execute('add', { a: 2, b: 3 })).toBe(5);
    const chunks: unknown[] = [];
    for await (const chunk of pool.executeStream('stream_values', { values: [1, 'two', { three: 3 }] })) chunks.push(chunk);
    expect(chunks).toEqual([
      { data: 1, is_final: false },
      { data: 'two', is_final: false },
      { three: 3, is_final: false },
      { is_final: true },
    ]);
    const [worker] = pool.listWorkers();
    expect(worker).toMatchObject({ seat: service.endpoint, capacity: 1, pid: undefined, state: 'ready' });
    expect(worker!.info).toMatchObject({ endpoint: service.endpoint, mode: 'process', pid: service.pid });
    // Large arguments take their own RPC, small ones the channel: both reach the same worker.
    const big = 'x'.repeat(200_000);
    expect(await pool.execute('echo', { text: big })).toEqual({ text: big });
  });

  it('reports tool failures typed, and keeps serving', async () => {
    const pool = remotePool();
    const failure = await pool.execute('fail', { message: 'nope', kind: 'KeyError' }).catch((error: unknown) => error);
    expect(SnakepitError.hasCode(failure, 'python_error')).toBe(true);
    expect((failure as SnakepitError).pythonType).toBe('KeyError');
    const unknown = await pool.execute('no_such_tool', {}).catch((error: unknown) => error);
    expect(SnakepitError.hasCode(unknown, 'unknown_tool')).toBe(true);
    expect(await pool.execute('ping', {})).toMatchObject({ pong: true });
  });

  it('cancels a remote call on deadline and on abort: the server stops it and serves the next at once', async () => {
    const pool = remotePool();
    const before = (await pool.execute('cancelled_count', { name: 'sleep' })) as number;
    const timedOut = await pool.execute('sleep', { ms: 10_000 }, { timeoutMs: 200 }).catch((error: unknown) => error);
    expect(SnakepitError.hasCode(timedOut, 'timeout')).toBe(true);
    const controller = new AbortController();
    const aborted = pool.execute('sleep', { ms: 10_000 }, { signal: controller.signal }).catch((error: unknown) => error);
    setTimeout(() => controller.abort(), 100);
    expect(SnakepitError.hasCode(await aborted, 'aborted')).toBe(true);
    // A stream stopped early is cancelled on the server too.
    for await (const chunk of pool.executeStream('stream_ticks', { name: 'remote-ticks', delay_ms: 10 })) {
      if ((chunk as { tick?: number }).tick === 3) break;
    }
    const started = Date.now();
    expect(await pool.execute('add', { a: 1, b: 2 })).toBe(3);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await pool.execute('cancelled_count', { name: 'sleep' })).toBe(before + 2);
    const stream = (await pool.execute('stream_state', { name: 'remote-ticks' })) as { produced: number; closed: boolean };
    expect(stream.closed).toBe(true);
    expect(stream.produced).toBeLessThan(20);
  });

  it('serves host tools and session state back over the call channel, for calls on the channel and as their own RPC', async () => {
    const pool = remotePool();
    pool.tools.register('double', (args) => (args.n as number) * 2);
    const session = pool.session('remote-session-1');
    expect(await session.execute('call_host', { name: 'double', args: { n: 21 } })).toBe(42);
    expect(await session.execute('state_set', { key: 'k', value: { deep: [1, 2] } })).toBe(true);
    expect(await pool.sessions.getState('remote-session-1', 'k')).toEqual({ deep: [1, 2] });
    // A large call travels as its own RPC; its host requests still come back on the channel.
    expect(await session.execute('state_set', { key: 'big', value: 'y'.repeat(100_000) })).toBe(true);
    expect(await session.execute('state_get', { key: 'big' })).toHaveLength(100_000);
    expect(await session.execute('state_delete', { key: 'k' })).toBe(true);
    expect(await session.execute('state_get', { key: 'k' })).toBeNull();
  });

  it('fails each wrong credential at startup with its cause, never falling back to plaintext', async () => {
    const wrongCa = await startupError({ tls: { ca: certificates.otherCa.cert } });
    expect(wrongCa.message).toMatch(/not signed by the configured CA/);
    const wrongName = await startupError({ tls: { ca: certificates.ca.cert, serverName: 'elsewhere.test' } });
    expect(wrongName.message).toMatch(/does not name "elsewhere.test"/);
    const wrongToken = await startupError({ token: 'not-the-token' });
    expect(wrongToken.message).toMatch(/refused the token/);
    const plaintext = await startupError({ tls: undefined, plaintext: true });
    expect(plaintext.message).toMatch(/it probably serves TLS/);
    const refused = await startupError({ endpoints: ['127.0.0.1:1'] });
    expect(refused.message).toMatch(/refused the connection/);
    // The server still serves a correct client after all of that.
    expect(await remotePool().execute('add', { a: 1, b: 1 })).toBe(2);
  });
});

describe('a server that requires client certificates (mTLS)', () => {
  it('serves a pool presenting one its CA signed, and refuses none or another, naming the cause', async () => {
    const mtls = await startWorkerService({
      adapter: overlapAdapter,
      pythonPath: [fixtures],
      host: '127.0.0.1',
      tlsCert: certificates.server.certPath,
      tlsKey: certificates.server.keyPath,
      tlsClientCa: certificates.ca.certPath,
    });
    try {
      const options = { endpoints: [mtls.endpoint], token: mtls.token };
      const missing = await startupError({ ...options, tls: { ca: certificates.ca.cert } });
      expect(missing.message).toMatch(/requires a client certificate/);
      const stranger = await startupError({
        ...options,
        tls: { ca: certificates.ca.cert, cert: certificates.strangerClient.cert, key: certificates.strangerClient.key },
      });
      expect(stranger.message).toMatch(/client certificate|not signed|handshake/);
      const pool = remotePool({ ...options, tls: { ca: certificates.ca.cert, cert: certificates.client.cert, key: certificates.client.key } });
      expect(await pool.execute('add', { a: 20, b: 22 })).toBe(42);
    } finally {
      await mtls.stop();
    }
  });
});

describe('two pools sharing one process-mode worker', () => {
  it('never run two calls on it at once; refused calls are put back and all complete', async () => {
    const first = remotePool();
    const second = remotePool();
    await Promise.all([first.ready(), second.ready()]);
    let refusals = 0;
    for (const pool of [first, second]) pool.on('call:refused', () => refusals++);
    const peaks = await Promise.all(Array.from({ length: 16 }, (_, index) => (index % 2 === 0 ? first : second).execute('overlap', { ms: 15 })));
    expect(Math.max(...(peaks as number[]))).toBe(1);
    expect(await first.execute('overlap_stats', {})).toEqual([1, expect.any(Number)]);
    expect(refusals).toBeGreaterThan(0);
    expect(first.stats().counters.refusals + second.stats().counters.refusals).toBe(refusals);
    expect(first.stats().counters.failed + second.stats().counters.failed).toBe(0);
  });
});
