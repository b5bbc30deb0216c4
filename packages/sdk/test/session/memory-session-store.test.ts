import { afterEach, describe, expect, it, vi } from 'vitest';
import { SnakepitError } from '../../src/errors.js';
import { createMemorySessionStore, type MemorySessionStore, type MemorySessionStoreOptions } from '../../src/session/memory-session-store.js';
import { failureOf } from '../../src/testing/failure-of.js';

/** A store on a hand-driven clock; closed after each test so no sweep timer outlives it. */
const stores: MemorySessionStore[] = [];
function storeWithClock(options: MemorySessionStoreOptions = {}) {
  const clock = { now: 1_000_000 };
  const store = createMemorySessionStore({ now: () => clock.now, sweepIntervalMs: 0, ...options });
  stores.push(store);
  return { store, clock };
}


afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

describe('createMemorySessionStore', () => {
  it('creates a frozen session snapshot with the default 1 h TTL', async () => {
    const { store, clock } = storeWithClock();
    const session = await store.create('s1', { metadata: { user: 'ada' } });
    expect(session).toEqual({
      id: 's1',
      createdAt: clock.now,
      lastAccessedAt: clock.now,
      expiresAt: clock.now + 3_600_000,
      metadata: { user: 'ada' },
    });
    expect(Object.isFrozen(session)).toBe(true);
    expect(Object.isFrozen(session.metadata)).toBe(true);
  });

  it('is idempotent: re-creating returns the same session, touched, and keeps its first options', async () => {
    const { store, clock } = storeWithClock();
    const first = await store.create('s1', { metadata: { a: '1' } });
    clock.now += 10;
    const again = await store.create('s1', { metadata: { a: '2' } });
    expect(again.createdAt).toBe(first.createdAt);
    expect(again.lastAccessedAt).toBe(first.createdAt + 10);
    expect(again.metadata).toEqual({ a: '1' });
    expect((await store.stats()).sessions).toBe(1);
  });

  it('re-creating an existing session works even at the session quota', async () => {
    const { store } = storeWithClock({ maxSessions: 1 });
    await store.create('s1');
    await expect(store.create('s1')).resolves.toMatchObject({ id: 's1' });
    const error = await failureOf(store.create('s2'));
    expect(error.code).toBe('session_quota_exceeded');
    expect(error.details).toEqual({ limit: 1, current: 1 });
  });

  it('treats an expired but unswept session as missing, and frees its quota slot', async () => {
    const { store, clock } = storeWithClock({ maxSessions: 2, ttlMs: 1000 });
    await store.create('a');
    await store.create('b');
    expect((await failureOf(store.create('c'))).code).toBe('session_quota_exceeded');
    clock.now += 1000;
    expect(await store.get('a')).toBeUndefined();
    expect((await failureOf(store.getState('b', 'k'))).code).toBe('session_not_found');
    await expect(store.create('c')).resolves.toMatchObject({ id: 'c' });
    await expect(store.create('d')).resolves.toMatchObject({ id: 'd' });
    expect((await store.stats()).expiredSessions).toBe(2);
  });

  it('extends a session on every access and honours a per-session TTL', async () => {
    const { store, clock } = storeWithClock({ ttlMs: 1000 });
    await store.create('short', { ttlMs: 100 });
    await store.create('long');
    clock.now += 90;
    await store.setState('short', 'k', 1);
    clock.now += 90;
    expect(await store.get('short')).toMatchObject({ expiresAt: clock.now + 100 });
    clock.now += 100;
    expect(await store.touch('short')).toBeUndefined();
    expect(await store.touch('long')).toMatchObject({ expiresAt: clock.now + 1000 });
  });

  it('sweeps expired sessions on its timer', async () => {
    vi.useFakeTimers();
    const clock = { now: 0 };
    const store = createMemorySessionStore({ now: () => clock.now, ttlMs: 1000, sweepIntervalMs: 500 });
    stores.push(store);
    await store.create('a');
    clock.now = 1500;
    vi.advanceTimersByTime(500);
    // Back before the expiry, so only the timer's sweep can have removed the session.
    clock.now = 0;
    expect(await store.stats()).toMatchObject({ sessions: 0, expiredSessions: 1 });
  });

  it('sweeps on access when the timer has fallen behind', async () => {
    const { store, clock } = storeWithClock({ ttlMs: 1000, sweepIntervalMs: 60_000 });
    await store.create('a');
    await store.create('b');
    clock.now += 60_000;
    await store.getGlobal('anything');
    expect((await store.stats()).expiredSessions).toBe(2);
  });

  it('enforces the per-session entry quota, but always allows overwriting', async () => {
    const { store } = storeWithClock({ maxEntriesPerSession: 2 });
    await store.create('s');
    await store.setState('s', 'a', 1);
    await store.setState('s', 'b', 2);
    const error = await failureOf(store.setState('s', 'c', 3));
    expect(error.code).toBe('session_entry_quota_exceeded');
    expect(error.details).toMatchObject({ limit: 2, current: 2 });
    await store.setState('s', 'a', 'overwritten');
    expect(await store.getState('s', 'a')).toBe('overwritten');
    expect(await store.deleteState('s', 'b')).toBe(true);
    await store.setState('s', 'c', 3);
  });

  it('enforces the global entry quota, but always allows overwriting', async () => {
    const { store } = storeWithClock({ maxGlobalEntries: 1 });
    await store.setGlobal('g', { v: 1 });
    const error = await failureOf(store.setGlobal('h', 1));
    expect(error.code).toBe('global_entry_quota_exceeded');
    expect(error.details).toEqual({ limit: 1, current: 1 });
    await store.setGlobal('g', { v: 2 });
    expect(await store.getGlobal('g')).toEqual({ v: 2 });
    expect(await store.deleteGlobal('g')).toBe(true);
    expect(await store.getGlobal('g')).toBeUndefined();
  });

  it('never counts or blocks internal sessions', async () => {
    const { store } = storeWithClock({ maxSessions: 1, maxEntriesPerSession: 1 });
    await store.create('user');
    expect((await failureOf(store.create('user-2'))).code).toBe('session_quota_exceeded');
    await store.create('worker-1', { internal: true });
    await store.create('worker-2', { internal: true });
    for (let index = 0; index < 5; index += 1) await store.setState('worker-1', `k${index}`, index);
    const stats = await store.stats();
    expect(stats).toMatchObject({ sessions: 1, internalSessions: 2, sessionEntries: 5 });
    expect((await store.list()).map((session) => session.id)).toEqual(['user']);
    expect((await store.list({ includeInternal: true })).map((session) => session.id).sort()).toEqual([
      'user',
      'worker-1',
      'worker-2',
    ]);
  });

  it('isolates stored state from callers', async () => {
    const { store } = storeWithClock();
    await store.create('s');
    const value = { nested: { list: [1, 2] } };
    await store.setState('s', 'k', value);
    value.nested.list.push(3);
    const read = (await store.getState('s', 'k')) as { nested: { list: number[] } };
    expect(read).toEqual({ nested: { list: [1, 2] } });
    read.nested.list.push(4);
    expect(await store.getState('s', 'k')).toEqual({ nested: { list: [1, 2] } });
  });

  it('refuses state values that are not plain JSON, naming the key', async () => {
    const { store } = storeWithClock();
    await store.create('s');
    const bad: unknown[] = [undefined, Number.NaN, new Date(0), new Map(), { f: () => 1 }, 10n];
    for (const value of bad) {
      const error = await failureOf(store.setState('s', 'k', value as never));
      expect(error.code).toBe('invalid_parameter');
      expect(error.details.key).toBe('k');
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect((await failureOf(store.setState('s', 'k', cyclic as never))).details.reason).toMatch(/circular/);
  });

  it('reports unknown sessions on state operations and validates ids and keys', async () => {
    const { store } = storeWithClock();
    expect((await failureOf(store.setState('nope', 'k', 1))).code).toBe('session_not_found');
    expect((await failureOf(store.deleteState('nope', 'k'))).code).toBe('session_not_found');
    expect((await failureOf(store.create(''))).details).toMatchObject({ reason: 'empty' });
    expect((await failureOf(store.create('x'.repeat(257)))).details).toMatchObject({ reason: 'too_long' });
    await store.create('s');
    expect((await failureOf(store.setState('s', '', 1))).details).toMatchObject({ key: 'key', reason: 'empty' });
    expect(await store.delete('s')).toBe(true);
    expect(await store.delete('s')).toBe(false);
  });

  it('validates its options and refuses work after close', async () => {
    expect(() => createMemorySessionStore({ maxSessions: 0 })).toThrow(SnakepitError);
    expect(() => createMemorySessionStore({ ttlMs: -1 })).toThrow(SnakepitError);
    const { store } = storeWithClock();
    await store.close();
    await store.close();
    expect((await failureOf(store.create('s'))).code).toBe('pool_closed');
  });

  it('exposes no internals', () => {
    const { store } = storeWithClock();
    expect(Object.keys(store)).toEqual([]);
    expect(Object.getOwnPropertyNames(store)).toEqual([]);
  });
});
