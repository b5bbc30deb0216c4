/**
 * A pool over a fleet of three real worker servers (TLS, openssl-made certificates) when things go
 * wrong: a server killed, SIGSTOPped, restarted and drained (SIGTERM), and endpoints added and
 * removed through DNS (a real dnsmasq on loopback). Each failure gives its calls typed errors at
 * once (or at the heartbeat limit, for a hang), nothing hangs, the other servers keep serving, and
 * the pool takes the server back when it returns.
 */
import { createPool, SnakepitError, type Pool } from '@snakepit/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { remotePythonAdapter } from '../src/index.js';
import { showcase, waitUntil } from './python-under-test.js';
import { startDnsmasq, type Dnsmasq } from './support/dnsmasq.js';
import { makeTlsFixture, type TlsFixture } from './support/tls-certificates.js';
import { startWorkerService, type WorkerServiceProcess } from './support/worker-service.js';

const heartbeat = { intervalMs: 200, timeoutMs: 300, maxMissed: 2 };
/** The longest a hung server's calls may wait for their typed error: the heartbeat limit and a loaded machine's slack. */
const hangBoundMs = heartbeat.intervalMs * (heartbeat.maxMissed + 1) + heartbeat.timeoutMs + 2_500;

let certificates: TlsFixture;
const services: WorkerServiceProcess[] = [];
const pools: Pool[] = [];
const token = 'fleet-token-0123456789abcdef';

function serve(host = '127.0.0.1', port?: number): Promise<WorkerServiceProcess> {
  return startWorkerService({
    adapter: showcase,
    host,
    ...(port !== undefined ? { port } : {}),
    token,
    tlsCert: certificates.server.certPath,
    tlsKey: certificates.server.keyPath,
    drainSeconds: 10,
  }).then((service) => {
    services.push(service);
    return service;
  });
}

function fleetPool(endpoints: string[]): Pool {
  const pool = createPool({
    adapter: remotePythonAdapter({ endpoints, tls: { ca: certificates.ca.cert }, token, connectTimeoutMs: 1_000, handshakeTimeoutMs: 1_000 }),
    heartbeat,
    restartBackoff: { initialMs: 50, maxMs: 300 },
  });
  pools.push(pool);
  return pool;
}

const readyCount = (pool: Pool) => pool.listWorkers().filter((worker) => worker.state === 'ready').length;

/** The service whose Python process serves `sessionId` in `pool`. */
async function serviceOf(pool: Pool, sessionId: string, fleet: WorkerServiceProcess[]): Promise<WorkerServiceProcess> {
  const pid = await pool.session(sessionId).execute('pid', {});
  const service = fleet.find((candidate) => candidate.pid === pid);
  if (service === undefined) throw new Error(`no service has pid ${String(pid)}`);
  return service;
}

async function failureOf(promise: Promise<unknown>): Promise<{ error: SnakepitError; afterMs: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => {
      throw new Error('the call succeeded');
    },
    (failure: unknown) => failure,
  );
  expect(SnakepitError.isInstance(error)).toBe(true);
  return { error: error as SnakepitError, afterMs: Date.now() - started };
}

beforeAll(async () => {
  certificates = await makeTlsFixture({ extraServerSans: ['IP:127.0.0.2', 'IP:127.0.0.3', 'DNS:fleet.test'] });
}, 30_000);

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  await Promise.all(services.splice(0).map((service) => service.kill()));
});

afterAll(async () => {
  await certificates?.cleanup();
});

describe('a pool over three worker servers', () => {
  it('a killed server fails its calls at once; the others serve on; its restart rejoins the pool', async () => {
    const fleet = await Promise.all([serve(), serve(), serve()]);
    const pool = fleetPool(fleet.map((service) => service.endpoint));
    await waitUntil(() => readyCount(pool) === 3, 15_000);
    const victim = await serviceOf(pool, 'doomed', fleet);
    const call = failureOf(pool.session('doomed').execute('sleep', { ms: 10_000 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await victim.kill();
    const { error, afterMs } = await call;
    expect(error.code).toBe('worker_exit');
    expect(error.message).toMatch(/connection/);
    expect(afterMs).toBeLessThan(3_000);
    expect(await waitUntil(() => readyCount(pool) === 2, 5_000)).toBe(true);
    // The session moves to its next in rank; calls elsewhere never noticed.
    const results = await Promise.all(Array.from({ length: 8 }, (_, index) => pool.execute('add', { a: index, b: 1 })));
    expect(results).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await pool.session('doomed').execute('add', { a: 1, b: 1 })).toBe(2);
    const [, port] = victim.endpoint.split(':');
    const restarted = await serve('127.0.0.1', Number(port));
    expect(await waitUntil(() => readyCount(pool) === 3, 10_000)).toBe(true);
    // Rendezvous placement: the session returns to the same endpoint.
    expect(await pool.session('doomed').execute('pid', {})).toBe(restarted.pid);
    expect(pool.stats().counters.restarts).toBeGreaterThan(0);
  });

  it('a SIGSTOPped server fails its calls at the heartbeat limit, leaves, and returns after SIGCONT', async () => {
    const fleet = await Promise.all([serve(), serve(), serve()]);
    const pool = fleetPool(fleet.map((service) => service.endpoint));
    await waitUntil(() => readyCount(pool) === 3, 15_000);
    const victim = await serviceOf(pool, 'frozen', fleet);
    const call = failureOf(pool.session('frozen').execute('sleep', { ms: 20_000 }, { timeoutMs: 60_000 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    victim.pause();
    try {
      const { error, afterMs } = await call;
      expect(error.code).toBe('worker_unresponsive');
      expect(afterMs).toBeLessThan(hangBoundMs);
      expect(await waitUntil(() => readyCount(pool) === 2, 5_000)).toBe(true);
      expect(await pool.execute('add', { a: 2, b: 2 })).toBe(4);
    } finally {
      victim.resume();
    }
    expect(await waitUntil(() => readyCount(pool) === 3, 15_000)).toBe(true);
    // Strict: the server may still be cancelling the cut call, and refuse (busy) until it has.
    expect(await pool.session('frozen').execute('pid', {}, { affinity: 'strict-queue' })).toBe(victim.pid);
  });

  it('SIGTERM drains a server without cutting its call; the pool moves on to the others', async () => {
    const fleet = await Promise.all([serve(), serve(), serve()]);
    const pool = fleetPool(fleet.map((service) => service.endpoint));
    await waitUntil(() => readyCount(pool) === 3, 15_000);
    const victim = await serviceOf(pool, 'draining', fleet);
    const call = pool.session('draining').execute('sleep', { ms: 600 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const exit = victim.stop('SIGTERM');
    expect(await call).toEqual({ slept_ms: 600 });
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(await waitUntil(() => readyCount(pool) === 2, 5_000)).toBe(true);
    const results = await Promise.all(Array.from({ length: 6 }, () => pool.session('draining').execute('add', { a: 1, b: 2 })));
    expect(results).toEqual([3, 3, 3, 3, 3, 3]);
    expect(pool.stats().counters.failed).toBe(0);
  });
});

describe('DNS discovery', () => {
  let dns: Dnsmasq;

  beforeAll(async () => {
    dns = await startDnsmasq({ hosts: { 'fleet.test': ['127.0.0.2'] } });
  }, 30_000);

  afterAll(async () => {
    await dns?.stop();
  });

  it('adds and removes endpoints as the records change, without disturbing calls elsewhere', async () => {
    const first = await serve('127.0.0.2');
    const port = Number(first.endpoint.split(':')[1]);
    const second = await serve('127.0.0.3', port);
    const pool = createPool({
      adapter: remotePythonAdapter({
        discover: { dns: 'fleet.test', port, intervalMs: 100, servers: [dns.server] },
        // The certificate names the service (fleet.test), the default server name with discovery.
        tls: { ca: certificates.ca.cert },
        token,
      }),
      heartbeat,
    });
    pools.push(pool);
    await pool.ready();
    expect(pool.listWorkers().map((worker) => worker.seat)).toEqual([first.endpoint]);
    await dns.setHosts({ 'fleet.test': ['127.0.0.2', '127.0.0.3'] });
    expect(await waitUntil(() => readyCount(pool) === 2, 10_000)).toBe(true);
    const pids = new Set(await Promise.all(Array.from({ length: 16 }, (_, index) => pool.session(`s${index}`).execute('pid', {}))));
    expect(pids).toEqual(new Set([first.pid, second.pid]));
    // Removing the first endpoint lets its call in flight finish; the rest of the pool serves on.
    const sessionOnFirst = [...Array(16).keys()].map((index) => `s${index}`);
    let owner: string | undefined;
    for (const id of sessionOnFirst) {
      if ((await pool.session(id).execute('pid', {})) === first.pid) {
        owner = id;
        break;
      }
    }
    expect(owner).toBeDefined();
    const inFlight = pool.session(owner!).execute('sleep', { ms: 800 });
    await dns.setHosts({ 'fleet.test': ['127.0.0.3'] });
    expect(await waitUntil(() => pool.listWorkers().every((worker) => worker.seat === second.endpoint), 10_000)).toBe(true);
    expect(await inFlight).toEqual({ slept_ms: 800 });
    expect(await pool.session(owner!).execute('pid', {})).toBe(second.pid);
    expect(pool.stats().counters.failed).toBe(0);
  });
});
