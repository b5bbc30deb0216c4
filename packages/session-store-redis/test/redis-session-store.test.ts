/** What the conformance suite cannot see: keys and TTLs in Redis, client ownership, prefixes, outages. */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SnakepitError, type SessionStore } from '@snakepit/sdk';
import { failureOf } from '@snakepit/sdk/testing';
import { redisSessionStore, redisSessionStoreDefaults, type RedisSessionStoreOptions } from '../src/index.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

let redis: RedisServer;
/** A plain client for looking at what the store wrote. */
let inspector: Redis;
const stores: SessionStore[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  inspector.on('error', () => {});
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const client of clients.splice(0)) client.disconnect();
});
afterAll(async () => {
  inspector?.disconnect();
  await redis?.stop();
});

function store(options: RedisSessionStoreOptions = {}): SessionStore {
  const created = redisSessionStore({ url: redis.url, keyPrefix: `unit:${randomUUID()}:`, ...options });
  stores.push(created);
  return created;
}

function client(options: RedisOptions = {}): Redis {
  const created = new Redis(redis.url, { maxRetriesPerRequest: 1, ...options });
  created.on('error', () => {});
  clients.push(created);
  return created;
}

/** How long `promise` took to settle, on the monotonic clock timers use (the wall clock may be stepped meanwhile). */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const started = performance.now();
  const [result] = await Promise.allSettled([promise]);
  return { ms: performance.now() - started, result: result! };
}

function rejection(settled: PromiseSettledResult<unknown>): SnakepitError {
  if (settled.status !== 'rejected' || !SnakepitError.isInstance(settled.reason)) throw new Error(`expected a SnakepitError, got ${JSON.stringify(settled)}`);
  return settled.reason;
}

describe('redisSessionStore options', () => {
  it('has the in-memory store defaults and documents its own', () => {
    expect(redisSessionStoreDefaults).toEqual({
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'snakepit:',
      ttlMs: 3_600_000,
      maxSessions: 10_000,
      maxEntriesPerSession: 200,
      maxGlobalEntries: 10_000,
      operationTimeoutMs: 2_000,
      connectTimeoutMs: 2_000,
    });
  });

  it('refuses bad options with invalid_parameter naming the key', () => {
    const refused = (options: unknown) => {
      try {
        redisSessionStore(options as RedisSessionStoreOptions);
      } catch (error) {
        if (SnakepitError.hasCode(error, 'invalid_parameter')) return error.details.key;
        throw error;
      }
      throw new Error('accepted');
    };
    expect(refused({ ttl: 5 })).toBe('ttl');
    expect(refused({ maxSessions: 0 })).toBe('maxSessions');
    expect(refused({ ttlMs: 1.5 })).toBe('ttlMs');
    expect(refused({ operationTimeoutMs: -1 })).toBe('operationTimeoutMs');
    expect(refused({ keyPrefix: 7 })).toBe('keyPrefix');
    expect(refused({ url: '' })).toBe('url');
    expect(refused({ client: {} })).toBe('client');
    expect(refused({ client: new Redis({ lazyConnect: true }), url: 'redis://x' })).toBe('client');
    expect(refused({ client: new Redis({ lazyConnect: true }), redisOptions: {} })).toBe('redisOptions');
  });

  it('opens no connection until the first call, and closes an unused store at once', async () => {
    const before = Number((await inspector.info('clients')).match(/connected_clients:(\d+)/)![1]);
    const unused = redisSessionStore({ url: redis.url });
    expect(Number((await inspector.info('clients')).match(/connected_clients:(\d+)/)![1])).toBe(before);
    const { ms } = await timed(unused.close());
    expect(ms).toBeLessThan(100);
  });
});

describe('what is stored under which keys', () => {
  it('keeps a session in two hashes with one Redis TTL, indexed in a sorted set, and moves the TTL on access', async () => {
    const keyPrefix = `keys:${randomUUID()}:`;
    const sessions = store({ keyPrefix, ttlMs: 60_000 });
    const session = await sessions.create('user:1', { metadata: { plan: 'pro' } });
    await sessions.setState('user:1', 'cart', { items: [1, 2] });
    await sessions.setGlobal('feature', true);
    await sessions.create('worker-a', { internal: true });

    expect((await inspector.keys(`${keyPrefix}*`)).sort()).toEqual(
      ['globals', 'internal-sessions', 'session:user:1', 'session:worker-a', 'sessions', 'state:user:1'].map((key) => keyPrefix + key),
    );
    expect(await inspector.hgetall(`${keyPrefix}session:user:1`)).toEqual({
      created: String(session.createdAt),
      accessed: expect.any(String),
      expires: expect.any(String),
      ttl: '60000',
      internal: '0',
      metadata: '{"plan":"pro"}',
    });
    expect(await inspector.hgetall(`${keyPrefix}state:user:1`)).toEqual({ cart: '{"items":[1,2]}' });
    expect(await inspector.hgetall(`${keyPrefix}globals`)).toEqual({ feature: 'true' });
    expect(await inspector.zrange(`${keyPrefix}sessions`, 0, -1)).toEqual(['user:1']);
    expect(await inspector.zrange(`${keyPrefix}internal-sessions`, 0, -1)).toEqual(['worker-a']);
    const expires = Number(await inspector.hget(`${keyPrefix}session:user:1`, 'expires'));
    expect(await inspector.pexpiretime(`${keyPrefix}session:user:1`)).toBe(expires);
    expect(await inspector.pexpiretime(`${keyPrefix}state:user:1`)).toBe(expires);
    expect(Number(await inspector.zscore(`${keyPrefix}sessions`, 'user:1'))).toBe(expires);
    // Globals never expire.
    expect(await inspector.pttl(`${keyPrefix}globals`)).toBe(-1);

    await new Promise((resolve) => setTimeout(resolve, 20));
    const touched = await sessions.getState('user:1', 'cart');
    expect(touched).toEqual({ items: [1, 2] });
    const moved = Number(await inspector.hget(`${keyPrefix}session:user:1`, 'expires'));
    expect(moved).toBeGreaterThan(expires);
    expect(await inspector.pexpiretime(`${keyPrefix}state:user:1`)).toBe(moved);

    await sessions.delete('user:1');
    expect(await inspector.exists(`${keyPrefix}session:user:1`, `${keyPrefix}state:user:1`)).toBe(0);
    expect(await inspector.zcard(`${keyPrefix}sessions`)).toBe(0);
  });

  it('keeps two applications with different prefixes on one Redis apart', async () => {
    const first = store({ keyPrefix: 'app-one:', maxSessions: 1 });
    const second = store({ keyPrefix: 'app-two:', maxSessions: 1 });
    await first.create('same-id');
    await second.create('same-id');
    await first.setState('same-id', 'k', 'one');
    await second.setState('same-id', 'k', 'two');
    await first.setGlobal('g', 1);
    expect(await first.getState('same-id', 'k')).toBe('one');
    expect(await second.getState('same-id', 'k')).toBe('two');
    expect(await second.getGlobal('g')).toBe(undefined);
    // Each at its own quota.
    expect((await failureOf(first.create('other'))).code).toBe('session_quota_exceeded');
    expect((await failureOf(second.create('other'))).code).toBe('session_quota_exceeded');
    await first.delete('same-id');
    expect((await second.get('same-id'))?.id).toBe('same-id');
    await second.delete('same-id');
  });
});

describe('a client passed in', () => {
  it('is used as it is and stays open after close()', async () => {
    const own = client();
    const sessions = redisSessionStore({ client: own, keyPrefix: `client:${randomUUID()}:` });
    await sessions.create('s');
    await sessions.setState('s', 'k', 1);
    await sessions.close();
    expect(own.status).toBe('ready');
    expect(await own.ping()).toBe('PONG');
    expect((await failureOf(sessions.get('s'))).code).toBe('pool_closed');
  });

  it('works under the client\'s own ioredis keyPrefix too', async () => {
    const prefixed = client({ keyPrefix: 'outer:' });
    const inner = `inner:${randomUUID()}:`;
    const sessions = redisSessionStore({ client: prefixed, keyPrefix: inner });
    stores.push(sessions);
    await sessions.create('s');
    await sessions.create('w', { internal: true });
    await sessions.setState('s', 'k', 1);
    expect((await sessions.list({ includeInternal: true })).map((session) => session.id).sort()).toEqual(['s', 'w']);
    expect((await sessions.stats()).sessionEntries).toBe(1);
    expect((await inspector.keys(`outer:${inner}*`)).length).toBe(5);
  });

  it('serves several stores at once', async () => {
    const shared = client();
    const first = redisSessionStore({ client: shared, keyPrefix: `a:${randomUUID()}:` });
    const second = redisSessionStore({ client: shared, keyPrefix: `b:${randomUUID()}:` });
    stores.push(first, second);
    await first.create('s');
    expect(await second.get('s')).toBe(undefined);
  });
});

describe('when Redis is down or slow', () => {
  const operationTimeoutMs = 400;
  // The deadline plus scheduling slack on a loaded machine.
  const bound = operationTimeoutMs + 600;

  it('fails calls that need it with session_store_unavailable (with the cause) in time, and works again once Redis is back', async () => {
    const sessions = store({ operationTimeoutMs });
    await sessions.create('s');
    await sessions.setState('s', 'k', 'before');
    await redis.kill();
    try {
      const operations: Array<() => Promise<unknown>> = [
        () => sessions.create('t'),
        () => sessions.get('s'),
        () => sessions.getState('s', 'k'),
        () => sessions.setState('s', 'k', 'during'),
        () => sessions.getGlobal('g'),
        () => sessions.stats(),
      ];
      const outcomes = await Promise.all(operations.map((operation) => timed(operation())));
      for (const { ms, result } of outcomes) {
        const error = rejection(result);
        expect(error.code).toBe('session_store_unavailable');
        expect(error.cause).toBeInstanceOf(Error);
        expect(typeof error.details.operation).toBe('string');
        expect(ms).toBeLessThan(bound);
      }
      // Calls made while reconnecting keep failing in time, never piling up.
      const again = await timed(sessions.get('s'));
      expect(rejection(again.result).code).toBe('session_store_unavailable');
      expect(again.ms).toBeLessThan(bound);
    } finally {
      await redis.restart();
    }
    // The restarted Redis is empty (nothing is persisted): the store reconnects by itself.
    let recovered: unknown;
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      recovered = await sessions.create('s').catch((error: unknown) => error);
      if (!SnakepitError.isInstance(recovered)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(SnakepitError.isInstance(recovered)).toBe(false);
    await sessions.setState('s', 'k', 'after');
    expect(await sessions.getState('s', 'k')).toBe('after');
  });

  it('fails with reason timeout while Redis does not answer, and answers again once it does', async () => {
    const sessions = store({ operationTimeoutMs });
    await sessions.create('s');
    redis.pause();
    try {
      const { ms, result } = await timed(sessions.setState('s', 'k', 1));
      const error = rejection(result);
      expect(error.code).toBe('session_store_unavailable');
      expect(error.details).toEqual({ operation: 'setState', reason: 'timeout', timeoutMs: operationTimeoutMs });
      expect(ms).toBeGreaterThanOrEqual(operationTimeoutMs - 5);
      expect(ms).toBeLessThan(bound);
    } finally {
      redis.resume();
    }
    expect((await sessions.get('s'))?.id).toBe('s');
  });

  it('bounds a client passed in by operationTimeoutMs too, whatever its own options', async () => {
    // ioredis defaults: offline queue on, 20 retries per request.
    const patient = new Redis(redis.url);
    patient.on('error', () => {});
    clients.push(patient);
    const sessions = store({ client: patient, operationTimeoutMs, url: undefined });
    await sessions.create('s');
    redis.pause();
    try {
      const { ms, result } = await timed(sessions.get('s'));
      expect(rejection(result).code).toBe('session_store_unavailable');
      expect(ms).toBeLessThan(bound);
    } finally {
      redis.resume();
    }
  });

  it('fails in time when Redis was never reachable, and closes at once', async () => {
    const sessions = redisSessionStore({ url: 'redis://127.0.0.1:1', operationTimeoutMs, connectTimeoutMs: 200 });
    const { ms, result } = await timed(sessions.create('s'));
    const error = rejection(result);
    expect(error.code).toBe('session_store_unavailable');
    expect(String((error.cause as Error).message)).toMatch(/ECONNREFUSED|no answer/);
    expect(ms).toBeLessThan(bound);
    const closing = await timed(sessions.close());
    expect(closing.ms).toBeLessThan(200);
  });
});
