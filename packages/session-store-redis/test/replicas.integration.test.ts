/**
 * Three Node processes, each with its own pool of real Python workers, on one real redis-server:
 * one session, one quota and one expiry across all of them; apps on other prefixes apart; a Redis
 * crash giving typed errors without hangs, and service again once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { startReplica, testPython, type Outcome, type Replica } from './support/replica.js';

const operationTimeoutMs = 500;
/** A call that needs the store, while it is down: its deadline plus a loaded machine's slack. */
const unavailableBoundMs = operationTimeoutMs + 1_500;
const maxSessions = 3;

let redis: RedisServer;
let replicas: Replica[];
let a: Replica;
let b: Replica;
let c: Replica;

function storeOptions(keyPrefix: string, extra: Record<string, unknown> = {}) {
  return { url: redis.url, keyPrefix, maxSessions, operationTimeoutMs, ...extra };
}

const open = (replica: Replica, app: string, keyPrefix: string) =>
  replica.value<Array<{ pid: number }>>('open', {
    app,
    python: testPython,
    store: storeOptions(keyPrefix),
    // Fast heartbeats: were they to depend on the store, an outage would get workers replaced.
    heartbeat: { intervalMs: 200, timeoutMs: 500, maxMissed: 2 },
  }, 60_000);

async function deleteAll(app = 'main'): Promise<void> {
  for (const id of await a.value<string[]>('list', { app })) await a.value('delete', { app, sessionId: id });
}

beforeAll(async () => {
  redis = await startRedisServer();
  replicas = await Promise.all(['a', 'b', 'c'].map(startReplica));
  [a, b, c] = replicas as [Replica, Replica, Replica];
  await Promise.all(replicas.map((replica) => open(replica, 'main', 'main:')));
}, 90_000);

afterAll(async () => {
  await Promise.all((replicas ?? []).map((replica) => replica.exit()));
  await redis?.stop();
}, 60_000);

describe('one session across three Node processes', () => {
  it('state written by a Python tool in one process is read by Python tools in the others', async () => {
    const cart = { items: [{ sku: 'A-1', qty: 2 }], total: 19.5, note: 'grüße' };
    expect(await a.value('execute', { app: 'main', tool: 'state_set', args: { key: 'cart', value: cart }, sessionId: 'user-1' })).toBe(true);
    expect(await b.value('execute', { app: 'main', tool: 'state_get', args: { key: 'cart' }, sessionId: 'user-1' })).toEqual(cart);
    expect(await c.value('execute', { app: 'main', tool: 'state_get', args: { key: 'cart' }, sessionId: 'user-1' })).toEqual(cart);
    // And back: written in the third, read in the first, from Python and from Node.
    await c.value('execute', { app: 'main', tool: 'state_set', args: { key: 'step', value: 3 }, sessionId: 'user-1' });
    expect(await a.value('execute', { app: 'main', tool: 'state_get', args: { key: 'step' }, sessionId: 'user-1' })).toBe(3);
    expect(await b.value('stateGet', { app: 'main', sessionId: 'user-1', key: 'step' })).toBe(3);
    for (const replica of replicas) expect(await replica.value('list', { app: 'main' })).toEqual(['user-1']);
    await deleteAll();
  });

  it('maxSessions holds across the three: the fourth session fails wherever it is created', async () => {
    await a.value('execute', { app: 'main', tool: 'ping', sessionId: 's1' });
    await b.value('execute', { app: 'main', tool: 'ping', sessionId: 's2' });
    await c.value('create', { app: 'main', sessionId: 's3' });
    for (const [index, replica] of replicas.entries()) {
      const viaCall = await replica.failure('execute', { app: 'main', tool: 'ping', sessionId: `fourth-${index}` });
      expect(viaCall.code).toBe('session_quota_exceeded');
      expect(viaCall.details).toEqual({ limit: maxSessions, current: maxSessions });
      expect((await replica.failure('create', { app: 'main', sessionId: `fifth-${index}` })).code).toBe('session_quota_exceeded');
      // A live session is still served everywhere, at quota (create is idempotent).
      expect(await replica.value('execute', { app: 'main', tool: 'ping', sessionId: 's1' })).toBeTruthy();
    }
    for (const replica of replicas) expect((await replica.value<{ sessions: number }>('stats', { app: 'main' })).sessions).toBe(maxSessions);
    await b.value('delete', { app: 'main', sessionId: 's1' });
    await a.value('execute', { app: 'main', tool: 'ping', sessionId: 'fourth-0' });
    await deleteAll();
  });

  it('a quota race: many concurrent creates from the three never exceed the limit', async () => {
    const batch = (replicaIndex: number) =>
      Array.from({ length: 12 }, (_, index) =>
        index % 2 === 0
          ? { op: 'create', app: 'main', sessionId: `race-${replicaIndex}-${index}` }
          : { op: 'execute', app: 'main', tool: 'ping', sessionId: `race-${replicaIndex}-${index}` },
      );
    const results = await Promise.all(replicas.map((replica, index) => replica.value<Outcome[]>('race', { operations: batch(index) })));
    const outcomes = results.flat();
    expect(outcomes.length).toBe(36);
    expect(outcomes.filter((outcome) => outcome.ok).length).toBe(maxSessions);
    for (const outcome of outcomes) if (!outcome.ok) expect(outcome.error.code).toBe('session_quota_exceeded');
    expect((await c.value<string[]>('list', { app: 'main' })).length).toBe(maxSessions);
    await deleteAll();
  });

  it('a TTL expires the session in all of them', async () => {
    const ttlMs = 1_000;
    await a.value('create', { app: 'main', sessionId: 'brief', ttlMs });
    await b.value('execute', { app: 'main', tool: 'state_set', args: { key: 'k', value: 'v' }, sessionId: 'brief' });
    expect(await c.value('execute', { app: 'main', tool: 'state_get', args: { key: 'k' }, sessionId: 'brief' })).toBe('v');
    await new Promise((resolve) => setTimeout(resolve, ttlMs + 700));
    for (const replica of replicas) {
      expect(await replica.value('info', { app: 'main', sessionId: 'brief' })).toBe(null);
      expect((await replica.failure('stateGet', { app: 'main', sessionId: 'brief', key: 'k' })).code).toBe('session_not_found');
    }
    // A new call starts a new session: the expired one's state is gone for Python too.
    expect(await a.value('execute', { app: 'main', tool: 'state_get', args: { key: 'k' }, sessionId: 'brief' })).toBe(null);
    await deleteAll();
  });
});

describe('two apps on one Redis', () => {
  it('with different keyPrefix do not see each other', async () => {
    await open(b, 'other', 'other-app:');
    try {
      await a.value('execute', { app: 'main', tool: 'state_set', args: { key: 'owner', value: 'main' }, sessionId: 'same-id' });
      expect(await b.value('execute', { app: 'other', tool: 'state_get', args: { key: 'owner' }, sessionId: 'same-id' })).toBe(null);
      await b.value('execute', { app: 'other', tool: 'state_set', args: { key: 'owner', value: 'other' }, sessionId: 'same-id' });
      expect(await c.value('execute', { app: 'main', tool: 'state_get', args: { key: 'owner' }, sessionId: 'same-id' })).toBe('main');
      expect(await b.value('execute', { app: 'other', tool: 'state_get', args: { key: 'owner' }, sessionId: 'same-id' })).toBe('other');
      // Each app has its own quota: main is full, other is not.
      await a.value('create', { app: 'main', sessionId: 'm2' });
      await a.value('create', { app: 'main', sessionId: 'm3' });
      expect((await a.failure('create', { app: 'main', sessionId: 'm4' })).code).toBe('session_quota_exceeded');
      await b.value('create', { app: 'other', sessionId: 'o2' });
      expect(await b.value('list', { app: 'other' })).toEqual(['o2', 'same-id']);
      expect(await b.value('list', { app: 'main' })).toEqual(['m2', 'm3', 'same-id']);
      await b.value('delete', { app: 'other', sessionId: 'same-id' });
      expect(await a.value('stateGet', { app: 'main', sessionId: 'same-id', key: 'owner' })).toBe('main');
    } finally {
      await b.value('closeApp', { app: 'other' });
      await deleteAll();
    }
  });
});

describe('Redis killed mid-run', () => {
  it('gives typed errors without hangs, keeps session-less calls and workers alive, and serves again after a restart', async () => {
    await a.value('execute', { app: 'main', tool: 'state_set', args: { key: 'k', value: 1 }, sessionId: 'during' });
    const workersBefore = await Promise.all(replicas.map((replica) => replica.value<Array<{ pid: number }>>('workers', { app: 'main' })));

    await redis.kill();
    const outageStarted = Date.now();
    // Everything that needs the store fails, typed and in time, in every process.
    for (const replica of replicas) {
      const outcomes = await replica.value<Outcome[]>('race', {
        operations: [
          { op: 'execute', app: 'main', tool: 'state_get', args: { key: 'k' }, sessionId: 'during' },
          { op: 'execute', app: 'main', tool: 'ping', sessionId: 'new-during-outage' },
          { op: 'create', app: 'main', sessionId: 'another' },
          { op: 'stateGet', app: 'main', sessionId: 'during', key: 'k' },
          { op: 'stats', app: 'main' },
        ],
      }, 10_000);
      for (const outcome of outcomes) {
        expect(outcome.ok).toBe(false);
        if (!outcome.ok) {
          expect(outcome.error.code).toBe('session_store_unavailable');
          // Whichever way ioredis noticed the outage first, it reads as the connection being gone.
          expect(outcome.error.details?.reason).toMatch(/^(disconnected|timeout)$/);
        }
        expect(outcome.ms).toBeLessThan(unavailableBoundMs);
      }
      // Calls without a session never touch the store: served at once.
      const plain = await replica.send('execute', { app: 'main', tool: 'add', args: { a: 2, b: 3 } }, 5_000);
      expect(plain).toMatchObject({ ok: true, value: 5 });
      expect(plain.ms).toBeLessThan(1_000);
    }
    // Long enough for many heartbeats (every 200 ms, 2 missed replace a worker).
    const outageMs = Date.now() - outageStarted;
    if (outageMs < 1_500) await new Promise((resolve) => setTimeout(resolve, 1_500 - outageMs));
    const workersDuring = await Promise.all(replicas.map((replica) => replica.value<Array<{ pid: number; state: string }>>('workers', { app: 'main' })));
    expect(workersDuring.map((workers) => workers.map((worker) => worker.pid))).toEqual(workersBefore.map((workers) => workers.map((worker) => worker.pid)));
    expect(workersDuring.flat().every((worker) => worker.state === 'ready')).toBe(true);

    await redis.restart();
    // Each store reconnects by itself (the new Redis is empty: nothing was persisted).
    for (const replica of replicas) {
      let outcome: Outcome = await replica.send('execute', { app: 'main', tool: 'ping', sessionId: 'after' });
      const until = Date.now() + 5_000;
      while (!outcome.ok && Date.now() < until) {
        expect(outcome.error.code).toBe('session_store_unavailable');
        await new Promise((resolve) => setTimeout(resolve, 100));
        outcome = await replica.send('execute', { app: 'main', tool: 'ping', sessionId: 'after' });
      }
      expect(outcome.ok).toBe(true);
    }
    await a.value('execute', { app: 'main', tool: 'state_set', args: { key: 'k', value: 'after' }, sessionId: 'after' });
    expect(await c.value('execute', { app: 'main', tool: 'state_get', args: { key: 'k' }, sessionId: 'after' })).toBe('after');
    const workersAfter = await Promise.all(replicas.map((replica) => replica.value<Array<{ pid: number }>>('workers', { app: 'main' })));
    expect(workersAfter.map((workers) => workers.map((worker) => worker.pid))).toEqual(workersBefore.map((workers) => workers.map((worker) => worker.pid)));
  }, 60_000);
});
