/**
 * A Python tool touching `context.state` while Redis is down gets a typed exception
 * (`SessionStoreUnavailable`), which reaches Node as python_error naming it; the worker keeps
 * serving. To get a call into Python with Redis down, the store is wrapped so that Redis dies
 * right after the call's session was created (the one store access before the worker runs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool, type SessionStore } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';
import { failureOf } from '@snakepit/sdk/testing';
import { redisSessionStore } from '../src/index.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { testPython } from './support/replica.js';

const operationTimeoutMs = 500;

let redis: RedisServer;
let store: SessionStore;
let pool: Pool;
let killAfterCreate = false;

beforeAll(async () => {
  redis = await startRedisServer();
  store = redisSessionStore({ url: redis.url, operationTimeoutMs });
  const create: SessionStore['create'] = async (...args) => {
    const session = await store.create(...args);
    if (killAfterCreate) await redis.kill();
    return session;
  };
  const killing = new Proxy(store, {
    get: (target, name) => {
      if (name === 'create') return create;
      const value: unknown = Reflect.get(target, name);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  pool = createPool({
    adapter: pythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter', python: testPython }),
    size: 1,
    sessionStore: killing,
  });
  await pool.ready();
}, 60_000);

afterAll(async () => {
  await pool?.close();
  await store?.close();
  await redis?.stop();
}, 60_000);

async function untilServed(): Promise<void> {
  const until = Date.now() + 5_000;
  while (Date.now() < until) {
    const outcome = await pool.executeInSession('user', 'state_set', { key: 'k', value: 'back' }).catch(() => undefined);
    if (outcome === true) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the store did not come back within 5 s');
}

describe('context.state on a store that is down', () => {
  const calls = { state_get: { key: 'k' }, state_roundtrip_async: { key: 'k', value: 'during' } };
  for (const [tool, args] of Object.entries(calls)) {
    it(`raises SessionStoreUnavailable in the Python tool (${tool}), and the worker keeps serving`, async () => {
      await pool.executeInSession('user', 'state_set', { key: 'k', value: 'before' });
      const [worker] = pool.listWorkers();
      killAfterCreate = true;
      const started = Date.now();
      try {
        const error = await failureOf(pool.executeInSession('user', tool, args)).finally(() => {
          killAfterCreate = false;
        });
        expect(Date.now() - started).toBeLessThan(operationTimeoutMs + 2_000);
        expect(error.code).toBe('python_error');
        expect(error.pythonType).toBe('snakepit_bridge.host.errors.SessionStoreUnavailable');
        expect(error.details.host_error_code).toBe('session_store_unavailable');
        expect(error.message).toMatch(/session store is unavailable \((getState|setState)\)/);
        // The worker is the same process and serves calls that do not need the store.
        expect(await pool.execute('add', { a: 1, b: 2 })).toBe(3);
        expect(pool.listWorkers().map((info) => info.pid)).toEqual([worker!.pid]);
      } finally {
        await redis.restart();
      }
      await untilServed();
      expect(await pool.executeInSession('user', 'state_get', { key: 'k' })).toBe('back');
    }, 30_000);
  }
});
