/**
 * One conformance suite for every SessionStore: the contract written in `session/session-store.ts`
 * (idempotent create even at quota, expiry with a touch on every access, tagged quota errors with
 * limit and current, internal sessions exempt, JSON values as copies, `session_not_found`, stats,
 * close). Like the adapter suite it takes the test framework's functions, so the sdk depends on no
 * test runner. Expiry is driven by short real TTLs, never by a mocked clock, so a store whose clock
 * lives elsewhere (Redis) is tested as it runs.
 *
 * A shared store also passes `createSharedStores`: two instances over the same data, as two Node
 * processes would hold them; the suite then checks that sessions, state, quotas and expiry are
 * one across both.
 */
import type { SnakepitError } from '../errors.js';
import type { SessionStore } from '../session/session-store.js';
import type { JsonValue } from '../wire/json-value.js';
import type { ConformanceTestApi } from './adapter-conformance.js';
import { failureOf } from './failure-of.js';

/** The options every store under test accepts (the in-memory store's names). */
export interface SessionStoreConformanceSettings {
  ttlMs?: number;
  maxSessions?: number;
  maxEntriesPerSession?: number;
  maxGlobalEntries?: number;
}

export interface SessionStoreConformanceOptions {
  /** Names the suite, e.g. "redis". */
  name: string;
  /** A new, empty store with these settings (its own namespace); the suite closes it. */
  createStore(settings: SessionStoreConformanceSettings): SessionStore | Promise<SessionStore>;
  /**
   * Two instances over the same (new, empty) data, as two processes would see it; the suite closes
   * both. The shared-store tests are left out when omitted.
   */
  createSharedStores?(settings: SessionStoreConformanceSettings): Promise<[SessionStore, SessionStore]>;
  /**
   * The short TTL of the expiry tests. Default 300 ms: long enough that a loaded machine does not
   * expire a session between two awaited calls, short enough to keep the suite quick.
   */
  shortTtlMs?: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sorted(ids: string[]): string[] {
  return [...ids].sort();
}

function rejections(results: PromiseSettledResult<unknown>[]): SnakepitError[] {
  return results.flatMap((result) => (result.status === 'rejected' ? [result.reason as SnakepitError] : []));
}

export function defineSessionStoreConformanceSuite(options: SessionStoreConformanceOptions, test: ConformanceTestApi): void {
  const { describe, it, expect } = test;
  const shortTtlMs = options.shortTtlMs ?? 300;
  // Long enough past the TTL that the session is gone on any clock.
  const pastExpiryMs = shortTtlMs * 2 + 100;
  const expiryTestTimeoutMs = 30_000;

  async function withStore(settings: SessionStoreConformanceSettings, body: (store: SessionStore) => Promise<void>): Promise<void> {
    const store = await options.createStore(settings);
    try {
      await body(store);
    } finally {
      await store.close();
    }
  }

  async function withSharedStores(
    settings: SessionStoreConformanceSettings,
    body: (first: SessionStore, second: SessionStore) => Promise<void>,
  ): Promise<void> {
    const [first, second] = await options.createSharedStores!(settings);
    try {
      await body(first, second);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  }

  describe(`session store conformance: ${options.name}`, () => {
    it('creates a frozen session snapshot with the store TTL and a copy of the metadata', () =>
      withStore({ ttlMs: 60_000 }, async (store) => {
        const metadata = { user: 'ada' };
        const session = await store.create('s1', { metadata });
        metadata.user = 'changed';
        expect(session.id).toBe('s1');
        expect(session.metadata).toEqual({ user: 'ada' });
        expect(session.lastAccessedAt >= session.createdAt).toBe(true);
        expect(session.expiresAt - session.lastAccessedAt).toBe(60_000);
        expect(Object.isFrozen(session)).toBe(true);
        expect(Object.isFrozen(session.metadata)).toBe(true);
        expect((await store.get('s1'))?.metadata).toEqual({ user: 'ada' });
      }));

    it('honours a per-session TTL', () =>
      withStore({ ttlMs: 60_000 }, async (store) => {
        const session = await store.create('short', { ttlMs: 5_000 });
        expect(session.expiresAt - session.lastAccessedAt).toBe(5_000);
        const touched = await store.touch('short');
        expect(touched!.expiresAt - touched!.lastAccessedAt).toBe(5_000);
      }));

    it('is idempotent: re-creating returns the same session, touched, and keeps its first options', () =>
      withStore({}, async (store) => {
        const first = await store.create('s1', { metadata: { a: '1' }, ttlMs: 50_000 });
        await pause(5);
        const again = await store.create('s1', { metadata: { a: '2' }, ttlMs: 70_000 });
        expect(again.createdAt).toBe(first.createdAt);
        expect(again.lastAccessedAt >= first.lastAccessedAt).toBe(true);
        expect(again.expiresAt - again.lastAccessedAt).toBe(50_000);
        expect(again.metadata).toEqual({ a: '1' });
        expect((await store.stats()).sessions).toBe(1);
      }));

    it('re-creating a live session works even at the session quota', () =>
      withStore({ maxSessions: 1 }, async (store) => {
        await store.create('s1');
        expect((await store.create('s1')).id).toBe('s1');
        const error = await failureOf(store.create('s2'));
        expect(error.code).toBe('session_quota_exceeded');
        expect(error.details).toEqual({ limit: 1, current: 1 });
      }));

    it('gets, touches and deletes sessions; unknown ones are undefined or false', () =>
      withStore({}, async (store) => {
        expect(await store.get('nope')).toBe(undefined);
        expect(await store.touch('nope')).toBe(undefined);
        expect(await store.delete('nope')).toBe(false);
        const created = await store.create('s');
        await pause(5);
        const touched = await store.touch('s');
        expect(touched!.createdAt).toBe(created.createdAt);
        expect(touched!.expiresAt >= created.expiresAt).toBe(true);
        expect((await store.get('s'))!.id).toBe('s');
        expect(await store.delete('s')).toBe(true);
        expect(await store.delete('s')).toBe(false);
        expect(await store.get('s')).toBe(undefined);
        expect((await failureOf(store.getState('s', 'k'))).code).toBe('session_not_found');
      }));

    it('deleting a session deletes its state: the same id starts empty', () =>
      withStore({}, async (store) => {
        await store.create('s');
        await store.setState('s', 'k', 1);
        await store.delete('s');
        await store.create('s');
        expect(await store.getState('s', 'k')).toBe(undefined);
        expect((await store.stats()).sessionEntries).toBe(0);
      }));

    it('sets, reads and deletes state; a missing key reads as undefined', () =>
      withStore({}, async (store) => {
        await store.create('s');
        expect(await store.getState('s', 'k')).toBe(undefined);
        await store.setState('s', 'k', 'v');
        expect(await store.getState('s', 'k')).toBe('v');
        expect(await store.deleteState('s', 'k')).toBe(true);
        expect(await store.deleteState('s', 'k')).toBe(false);
        expect(await store.getState('s', 'k')).toBe(undefined);
      }));

    it('round-trips JSON values exactly and returns copies, never the stored object', () =>
      withStore({}, async (store) => {
        await store.create('s');
        const value = {
          int: 9_007_199_254_740_991,
          negative: -7,
          float: 0.1,
          none: null,
          flag: false,
          text: 'grüße ✓ \u0000 "quoted"',
          nested: { list: [1, [2, { three: 3 }]], empty: {} },
        };
        await store.setState('s', 'k', value);
        (value.nested.list as JsonValue[]).push('after set');
        const read = (await store.getState('s', 'k')) as { nested: { list: JsonValue[] } };
        expect(read).toEqual({ ...value, nested: { list: [1, [2, { three: 3 }]], empty: {} } });
        read.nested.list.push('after get');
        expect(((await store.getState('s', 'k')) as { nested: { list: JsonValue[] } }).nested.list).toEqual([1, [2, { three: 3 }]]);
        for (const scalar of [0, 'text', true, null, [] as JsonValue]) {
          await store.setState('s', 'scalar', scalar);
          expect(await store.getState('s', 'scalar')).toEqual(scalar);
        }
        await store.setGlobal('g', { list: [1] });
        const global = (await store.getGlobal('g')) as { list: number[] };
        global.list.push(2);
        expect(await store.getGlobal('g')).toEqual({ list: [1] });
      }));

    it('refuses state values that are not plain JSON, naming the key', () =>
      withStore({}, async (store) => {
        await store.create('s');
        const bad: unknown[] = [undefined, Number.NaN, Number.POSITIVE_INFINITY, new Date(0), new Map(), { f: () => 1 }, 10n];
        for (const value of bad) {
          const error = await failureOf(store.setState('s', 'k', value as JsonValue));
          expect(error.code).toBe('invalid_parameter');
          expect(error.details.key).toBe('k');
          expect((await failureOf(store.setGlobal('g', value as JsonValue))).code).toBe('invalid_parameter');
        }
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        expect((await failureOf(store.setState('s', 'k', cyclic as JsonValue))).code).toBe('invalid_parameter');
        expect(await store.getState('s', 'k')).toBe(undefined);
      }));

    it('fails state operations on an unknown session with session_not_found', () =>
      withStore({}, async (store) => {
        for (const operation of [store.getState('nope', 'k'), store.setState('nope', 'k', 1), store.deleteState('nope', 'k')]) {
          const error = await failureOf(operation);
          expect(error.code).toBe('session_not_found');
          expect(error.details.sessionId).toBe('nope');
        }
        // A failed setState creates nothing.
        expect(await store.get('nope')).toBe(undefined);
      }));

    it('validates session ids, state keys and options', () =>
      withStore({}, async (store) => {
        expect((await failureOf(store.create(''))).details.reason).toBe('empty');
        expect((await failureOf(store.create('x'.repeat(257)))).details.reason).toBe('too_long');
        expect((await failureOf(store.create(7 as unknown as string))).code).toBe('invalid_parameter');
        expect((await failureOf(store.create('s', { ttlMs: 0 }))).details.key).toBe('ttlMs');
        expect((await failureOf(store.create('s', { metadata: { n: 1 as unknown as string } }))).code).toBe('invalid_parameter');
        expect(await store.get('s')).toBe(undefined);
        await store.create('x'.repeat(256));
        await store.create('s');
        const error = await failureOf(store.setState('s', '', 1));
        expect(error.details.key).toBe('key');
        expect(error.details.reason).toBe('empty');
        expect((await failureOf(store.getState('s', 'k'.repeat(257)))).details.reason).toBe('too_long');
        expect((await failureOf(store.getGlobal(''))).code).toBe('invalid_parameter');
      }));

    it('keeps ids and keys with any characters apart', () =>
      withStore({}, async (store) => {
        const ids = ['a:b', 'a', 'a:b:c', 'ünï cödé ✓', '*', '{tag}'];
        for (const id of ids) await store.create(id, { metadata: { id } });
        for (const id of ids) await store.setState(id, 'k:1', id);
        for (const id of ids) expect(await store.getState(id, 'k:1')).toBe(id);
        expect(sorted((await store.list()).map((session) => session.id))).toEqual(sorted(ids));
        expect((await store.stats()).sessionEntries).toBe(ids.length);
      }));

    it('enforces the per-session entry quota, but always allows overwriting', () =>
      withStore({ maxEntriesPerSession: 2 }, async (store) => {
        await store.create('s');
        await store.setState('s', 'a', 1);
        await store.setState('s', 'b', 2);
        const error = await failureOf(store.setState('s', 'c', 3));
        expect(error.code).toBe('session_entry_quota_exceeded');
        expect(error.details).toEqual({ sessionId: 's', limit: 2, current: 2 });
        await store.setState('s', 'a', 'overwritten');
        expect(await store.getState('s', 'a')).toBe('overwritten');
        expect(await store.getState('s', 'c')).toBe(undefined);
        expect(await store.deleteState('s', 'b')).toBe(true);
        await store.setState('s', 'c', 3);
        // The quota is per session.
        await store.create('t');
        await store.setState('t', 'a', 1);
        await store.setState('t', 'b', 1);
      }));

    it('enforces the global entry quota, but always allows overwriting', () =>
      withStore({ maxGlobalEntries: 1 }, async (store) => {
        expect(await store.getGlobal('g')).toBe(undefined);
        await store.setGlobal('g', { v: 1 });
        const error = await failureOf(store.setGlobal('h', 1));
        expect(error.code).toBe('global_entry_quota_exceeded');
        expect(error.details).toEqual({ limit: 1, current: 1 });
        await store.setGlobal('g', { v: 2 });
        expect(await store.getGlobal('g')).toEqual({ v: 2 });
        expect(await store.deleteGlobal('g')).toBe(true);
        expect(await store.deleteGlobal('g')).toBe(false);
        expect(await store.getGlobal('g')).toBe(undefined);
        await store.setGlobal('h', 1);
      }));

    it('never counts or limits internal sessions', () =>
      withStore({ maxSessions: 1, maxEntriesPerSession: 1 }, async (store) => {
        await store.create('user');
        expect((await failureOf(store.create('user-2'))).code).toBe('session_quota_exceeded');
        await store.create('worker-1', { internal: true });
        await store.create('worker-2', { internal: true });
        for (let index = 0; index < 5; index += 1) await store.setState('worker-1', `k${index}`, index);
        await store.setState('user', 'k0', 0);
        expect((await failureOf(store.setState('user', 'k1', 1))).code).toBe('session_entry_quota_exceeded');
        const stats = await store.stats();
        expect([stats.sessions, stats.internalSessions, stats.sessionEntries]).toEqual([1, 2, 6]);
        expect((await store.list()).map((session) => session.id)).toEqual(['user']);
        expect(sorted((await store.list({ includeInternal: true })).map((session) => session.id))).toEqual(['user', 'worker-1', 'worker-2']);
      }));

    it('reports stats: sessions, internal sessions, entries and globals', () =>
      withStore({}, async (store) => {
        const empty = await store.stats();
        expect([empty.sessions, empty.internalSessions, empty.sessionEntries, empty.globalEntries]).toEqual([0, 0, 0, 0]);
        expect(typeof empty.expiredSessions).toBe('number');
        await store.create('a');
        await store.create('b');
        await store.create('w', { internal: true });
        await store.setState('a', 'x', 1);
        await store.setState('a', 'y', 2);
        await store.setState('w', 'x', 3);
        await store.setGlobal('g', 4);
        const stats = await store.stats();
        expect([stats.sessions, stats.internalSessions, stats.sessionEntries, stats.globalEntries]).toEqual([2, 1, 3, 1]);
        expect(stats.expiredSessions).toBe(empty.expiredSessions);
      }));

    it('expires an idle session after its TTL: missing everywhere, its quota slot freed', () =>
      withStore({ ttlMs: shortTtlMs, maxSessions: 2 }, async (store) => {
        const before = (await store.stats()).expiredSessions;
        await store.create('a');
        await store.create('b');
        await store.setState('b', 'k', 1);
        expect((await failureOf(store.create('c'))).code).toBe('session_quota_exceeded');
        await pause(pastExpiryMs);
        expect(await store.get('a')).toBe(undefined);
        expect((await failureOf(store.getState('b', 'k'))).code).toBe('session_not_found');
        expect(await store.touch('b')).toBe(undefined);
        expect(await store.delete('b')).toBe(false);
        expect((await store.list()).length).toBe(0);
        await store.create('c');
        await store.create('d');
        const stats = await store.stats();
        expect(stats.expiredSessions - before).toBe(2);
        expect(stats.sessions).toBe(2);
        expect(stats.sessionEntries).toBe(0);
      }), expiryTestTimeoutMs);

    it('extends a session on every access, and a per-session TTL expires on its own', () =>
      withStore({ ttlMs: 60_000 }, async (store) => {
        await store.create('kept', { ttlMs: shortTtlMs });
        await store.create('idle', { ttlMs: shortTtlMs });
        await store.create('long');
        const accesses = [
          () => store.setState('kept', 'k', 1),
          () => store.getState('kept', 'k'),
          () => store.get('kept'),
          () => store.touch('kept'),
          () => store.create('kept'),
          () => store.deleteState('kept', 'other'),
        ];
        // Together longer than the TTL; each access comes well within it.
        const step = Math.ceil(shortTtlMs / 4);
        for (let round = 0; round < 8; round += 1) {
          await pause(step);
          await accesses[round % accesses.length]!();
        }
        expect(await store.get('idle')).toBe(undefined);
        expect((await store.get('kept'))!.id).toBe('kept');
        expect(await store.getState('kept', 'k')).toBe(1);
        await pause(pastExpiryMs);
        expect(await store.get('kept')).toBe(undefined);
        expect((await store.get('long'))!.id).toBe('long');
      }), expiryTestTimeoutMs);

    it('expires internal sessions too, without counting them against the quota', () =>
      withStore({ ttlMs: shortTtlMs, maxSessions: 1 }, async (store) => {
        await store.create('w', { internal: true });
        await store.create('u');
        await pause(pastExpiryMs);
        expect(await store.get('w')).toBe(undefined);
        const stats = await store.stats();
        expect([stats.sessions, stats.internalSessions]).toEqual([0, 0]);
      }), expiryTestTimeoutMs);

    it('never exceeds the session quota under concurrent creates', () =>
      withStore({ maxSessions: 5 }, async (store) => {
        const results = await Promise.allSettled(Array.from({ length: 40 }, (_, index) => store.create(`race-${index}`)));
        expect(results.filter((result) => result.status === 'fulfilled').length).toBe(5);
        const refused = rejections(results);
        expect(refused.every((error) => error.code === 'session_quota_exceeded' && error.details.limit === 5)).toBe(true);
        expect((await store.stats()).sessions).toBe(5);
      }));

    it('never exceeds the entry quotas under concurrent writes', () =>
      withStore({ maxEntriesPerSession: 3, maxGlobalEntries: 4 }, async (store) => {
        await store.create('s');
        const entries = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => store.setState('s', `k${index}`, index)));
        expect(entries.filter((result) => result.status === 'fulfilled').length).toBe(3);
        expect(rejections(entries).every((error) => error.code === 'session_entry_quota_exceeded')).toBe(true);
        const globals = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => store.setGlobal(`g${index}`, index)));
        expect(globals.filter((result) => result.status === 'fulfilled').length).toBe(4);
        expect(rejections(globals).every((error) => error.code === 'global_entry_quota_exceeded')).toBe(true);
        const stats = await store.stats();
        expect([stats.sessionEntries, stats.globalEntries]).toEqual([3, 4]);
      }));

    it('is closed after close(): idempotent, later calls fail with pool_closed', async () => {
      const store = await options.createStore({});
      await store.create('s');
      await store.close();
      await store.close();
      for (const operation of [store.create('s'), store.get('s'), store.getState('s', 'k'), store.setGlobal('g', 1), store.stats()]) {
        expect((await failureOf(operation)).code).toBe('pool_closed');
      }
    });

    if (options.createSharedStores !== undefined) {
      describe('shared by two instances', () => {
        it('sees one set of sessions, state and globals from both', () =>
          withSharedStores({}, async (first, second) => {
            await first.create('s', { metadata: { from: 'first' } });
            expect((await second.create('s', { metadata: { from: 'second' } })).metadata).toEqual({ from: 'first' });
            await first.setState('s', 'k', { written: 'by first' });
            expect(await second.getState('s', 'k')).toEqual({ written: 'by first' });
            await second.setGlobal('g', [1, 2]);
            expect(await first.getGlobal('g')).toEqual([1, 2]);
            expect((await second.stats()).sessions).toBe(1);
            expect(await second.delete('s')).toBe(true);
            expect(await first.get('s')).toBe(undefined);
            expect((await failureOf(first.getState('s', 'k'))).code).toBe('session_not_found');
          }));

        it('holds the quotas across both, also under concurrent creates from both', () =>
          withSharedStores({ maxSessions: 6, maxEntriesPerSession: 2 }, async (first, second) => {
            const creates = await Promise.allSettled(
              Array.from({ length: 30 }, (_, index) => (index % 2 === 0 ? first : second).create(`race-${index}`)),
            );
            expect(creates.filter((result) => result.status === 'fulfilled').length).toBe(6);
            expect(rejections(creates).every((error) => error.code === 'session_quota_exceeded' && error.details.limit === 6)).toBe(true);
            const live = (await first.list()).map((session) => session.id);
            expect(live.length).toBe(6);
            // Idempotent at quota from the other instance too.
            expect((await second.create(live[0]!)).id).toBe(live[0]);
            await first.setState(live[0]!, 'a', 1);
            await second.setState(live[0]!, 'b', 2);
            expect((await failureOf(first.setState(live[0]!, 'c', 3))).details).toEqual({ sessionId: live[0], limit: 2, current: 2 });
          }));

        it('expires a session for both, and an access through either keeps it alive for both', () =>
          withSharedStores({ ttlMs: shortTtlMs }, async (first, second) => {
            await first.create('kept');
            await first.create('idle');
            const step = Math.ceil(shortTtlMs / 4);
            for (let round = 0; round < 6; round += 1) {
              await pause(step);
              await (round % 2 === 0 ? second.touch('kept') : first.getState('kept', 'k'));
            }
            expect(await second.get('idle')).toBe(undefined);
            expect(await first.get('idle')).toBe(undefined);
            expect((await second.get('kept'))!.id).toBe('kept');
            await pause(pastExpiryMs);
            expect(await first.get('kept')).toBe(undefined);
            expect(await second.get('kept')).toBe(undefined);
          }), expiryTestTimeoutMs);
      });
    }
  });
}
