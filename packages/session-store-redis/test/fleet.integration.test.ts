/**
 * The fleet: three real worker servers (`python -m snakepit_bridge.serve`, showcase adapter, TLS
 * with openssl-made certificates, one token) shared by two Node processes, each with a pool over
 * all three (`remotePythonAdapter`) on one real redis-server (RedisSessionStore). From both
 * processes: calls, streams, host tools answered by the process that made the call (its own
 * connection carries the host request back), session state written by Python from one process and
 * read by Python and by Node from the other, and each session served by the same server whichever
 * process calls — the sessions spread over the servers. Nothing runs Python in the Node processes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTlsFixture, type TlsFixture } from '../../adapter-python/test/support/tls-certificates.js';
import { startWorkerService, type WorkerServiceProcess } from '../../adapter-python/test/support/worker-service.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { startReplica, type Outcome, type Replica } from './support/replica.js';

const showcase = 'snakepit_bridge.adapters.showcase.ShowcaseAdapter';
/** The showcase plus `overlap`, which notices calls running at once (adapter-python's Python test fixtures). */
const overlapAdapter = 'overlap_adapter.OverlapAdapter';
const pythonFixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'adapter-python', 'python', 'tests', 'fixtures');
const token = 'fleet-token-5f0c2a9e41d7b3681e0a';
const app = 'fleet';

interface ListedWorker {
  id: string;
  pid: number | null;
  state: string;
  seat?: string;
  capacity: number;
  info: Record<string, unknown>;
}

let certificates: TlsFixture | undefined;
const services: WorkerServiceProcess[] = [];
let redis: RedisServer | undefined;
const replicas: Replica[] = [];
let a: Replica;
let b: Replica;
let endpoints: string[];
let servicePids: number[];

/** Each replica with its name, for "from both processes". */
const both = (): Array<[string, Replica]> => [['a', a], ['b', b]];

/** The processes whose parent is `pid` (read from /proc: Linux). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Exited while we looked.
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ")" ends it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) children.push(Number(entry));
  }
  return children;
}

const sessionCall = (replica: Replica, sessionId: string, tool: string, args: Record<string, unknown> = {}) =>
  replica.value('execute', { app, tool, args, sessionId });

beforeAll(async () => {
  // Each thing is recorded as soon as it runs, so that afterAll ends it even when another failed to start.
  const [tls, , started] = await Promise.all([
    makeTlsFixture().then((fixture) => (certificates = fixture)),
    startRedisServer().then((server) => (redis = server)),
    Promise.all(['a', 'b'].map((name) => startReplica(name).then((replica) => (replicas.push(replica), replica)))),
  ]);
  [a, b] = started as [Replica, Replica];
  const fleet = await Promise.all(
    [0, 1, 2].map(() =>
      startWorkerService({
        adapter: showcase,
        host: '127.0.0.1',
        token,
        tlsCert: tls.server.certPath,
        tlsKey: tls.server.keyPath,
      }).then((service) => {
        services.push(service);
        return service;
      }),
    ),
  );
  endpoints = fleet.map((service) => service.endpoint);
  servicePids = fleet.map((service) => service.pid);
  const remote = { endpoints, ca: tls.ca.cert, token };
  await Promise.all(
    replicas.map((replica) =>
      replica.value('open', { app, remote, store: { url: redis!.url, keyPrefix: 'fleet:' }, readyTimeoutMs: 20_000 }, 30_000),
    ),
  );
  for (const [name, replica] of both()) await replica.value('registerTool', { app, tool: 'whoami', returns: name });
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.exit()));
  await Promise.all(services.map((service) => service.kill()));
  await redis?.stop();
  await certificates?.cleanup();
}, 60_000);

describe('two Node processes over three worker servers, sessions in one Redis', () => {
  it('each lists the three servers as its ready workers, and spawned no Python of its own', async () => {
    for (const [, replica] of both()) {
      const workers = await replica.value<ListedWorker[]>('listWorkers', { app });
      expect(workers).toHaveLength(3);
      expect(workers.map((worker) => worker.seat).sort()).toEqual([...endpoints].sort());
      for (const worker of workers) {
        expect(worker).toMatchObject({ state: 'ready', pid: null, capacity: 1 });
        // The pid the worker reports is the server's, on the endpoint of its seat.
        expect(worker.info).toMatchObject({ endpoint: worker.seat, mode: 'process', pid: servicePids[endpoints.indexOf(worker.seat!)] });
      }
      // The replica is a child of this process (so the scan sees children), and has none itself.
      expect(childrenOf(process.pid)).toContain(replica.pid);
      expect(childrenOf(replica.pid)).toEqual([]);
    }
  });

  it('runs calls and streams from both', async () => {
    await Promise.all(
      both().map(async ([name, replica]) => {
        const sums = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => replica.value('execute', { app, tool: 'add', args: { a: n, b: 10 } })));
        expect(sums).toEqual([11, 12, 13, 14, 15, 16]);
        expect(await replica.value('stream', { app, tool: 'stream_values', args: { values: [1, name, { three: 3 }] } })).toEqual([
          { data: 1, is_final: false },
          { data: name, is_final: false },
          { three: 3, is_final: false },
          { is_final: true },
        ]);
        const progress = await replica.value<Array<Record<string, unknown>>>('stream', {
          app,
          tool: 'stream_progress',
          args: { steps: 3, delay_ms: 20 },
          sessionId: `progress-${name}`,
        });
        expect(progress.filter((chunk) => chunk.step !== undefined)).toEqual([1, 2, 3].map((step) => ({
          step,
          total: 3,
          message: `Processing step ${step}/3`,
          progress: Math.round((step * 1000) / 3) / 10,
          is_final: step === 3,
        })));
        expect(progress.at(-1)).toMatchObject({ is_final: true });
      }),
    );
  });

  it('a host tool called from Python is answered by the process that made the call, on its own connection', async () => {
    // The same sessions from both at once, each kept on its server ('strict-queue'): every server
    // serves calls of both processes, and each host request goes back to the caller's connection.
    const sessions = Array.from({ length: 8 }, (_, index) => `whoami-${index}`);
    const whoami = (replica: Replica) =>
      replica.value<Outcome[]>('race', {
        operations: sessions.map((sessionId) => ({
          op: 'execute', app, tool: 'call_host', args: { name: 'whoami' }, sessionId, affinity: 'strict-queue',
        })),
      });
    const answers = await Promise.all([whoami(a), whoami(b), whoami(a), whoami(b)]);
    const names = ['a', 'b', 'a', 'b'];
    for (const [index, outcomes] of answers.entries()) {
      expect(outcomes).toEqual(sessions.map(() => expect.objectContaining({ ok: true, value: names[index] })));
    }
    // The sessions' servers are more than one: host requests came back from several servers.
    const pids = new Set(await Promise.all(sessions.map((sessionId) => sessionCall(a, sessionId, 'pid'))));
    expect(pids.size).toBeGreaterThan(1);
  });

  it('session state written by Python from one process is read by Python and by Node from the other', async () => {
    const cart = { items: [{ sku: 'A-1', qty: 2 }], total: 19.5, note: 'grüße' };
    expect(await sessionCall(a, 'shopper-1', 'state_set', { key: 'cart', value: cart })).toBe(true);
    expect(await sessionCall(b, 'shopper-1', 'state_get', { key: 'cart' })).toEqual(cart);
    for (const [, replica] of both()) {
      expect(await replica.value('storeGetState', { app, sessionId: 'shopper-1', key: 'cart' })).toEqual(cart);
    }
    // And the other way round.
    expect(await sessionCall(b, 'shopper-1', 'state_set', { key: 'step', value: 3 })).toBe(true);
    expect(await sessionCall(a, 'shopper-1', 'state_get', { key: 'step' })).toBe(3);
    expect(await a.value('storeGetState', { app, sessionId: 'shopper-1', key: 'step' })).toBe(3);
    expect(await sessionCall(a, 'shopper-1', 'state_get', { key: 'missing' })).toBeNull();
  });

  it('the calls of each session land on the same server from both processes, and the sessions spread over the servers', async () => {
    const sessions = Array.from({ length: 24 }, (_, index) => `placed-${index}`);
    // One call at a time (the default affinity, 'hint', with every server free): the placement
    // both processes compute by themselves.
    const placement: number[] = [];
    for (const sessionId of sessions) {
      const pidFromA = await sessionCall(a, sessionId, 'pid');
      expect(await sessionCall(b, sessionId, 'pid')).toBe(pidFromA);
      placement.push(pidFromA as number);
    }
    for (const pid of placement) expect(servicePids).toContain(pid);
    expect(new Set(placement).size).toBeGreaterThan(1);

    // All at once from both, twice each ('strict-queue': a busy server's calls wait for it, through
    // the other process's refusals): still the same server for every session.
    const pidsOf = (replica: Replica) =>
      replica.value<Outcome<number>[]>('race', {
        operations: sessions.map((sessionId) => ({ op: 'execute', app, tool: 'pid', sessionId, affinity: 'strict-queue' })),
      });
    const rounds = await Promise.all([pidsOf(a), pidsOf(b), pidsOf(b), pidsOf(a)]);
    for (const outcomes of rounds) {
      expect(outcomes.map((outcome) => (outcome.ok ? outcome.value : outcome.error))).toEqual(placement);
    }
  });

  it('never run two calls at once on one process-mode worker they share', async () => {
    const shared = await startWorkerService({
      adapter: overlapAdapter,
      pythonPath: [pythonFixtures],
      host: '127.0.0.1',
      token,
      tlsCert: certificates!.server.certPath,
      tlsKey: certificates!.server.keyPath,
    });
    services.push(shared);
    const remote = { endpoints: [shared.endpoint], ca: certificates!.ca.cert, token };
    await Promise.all(replicas.map((replica) => replica.value('open', { app: 'shared', remote, readyTimeoutMs: 20_000 }, 30_000)));
    // Each process sends a burst; each pool keeps its own one call in flight, the worker queues the other's.
    const peaks = await Promise.all(
      both().flatMap(([, replica]) =>
        Array.from({ length: 12 }, () => replica.value<number>('execute', { app: 'shared', tool: 'overlap', args: { ms: 10 } }, 30_000)),
      ),
    );
    expect(Math.max(...peaks)).toBe(1);
    expect(await a.value('execute', { app: 'shared', tool: 'overlap_stats', args: {} })).toEqual([1, 24]);
  });
});
