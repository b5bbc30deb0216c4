/**
 * Adapter spec v2: seats an adapter reports (and changes) while the pool runs, and rendezvous
 * placement of sessions over their keys. The adapter is built here on top of the in-memory one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterV2, SeatStartContext, SeatWatchContext } from '../../src/adapter/v2/adapter.js';
import type { AffinityMode } from '../../src/pool/call-options.js';
import type { PoolOptions } from '../../src/pool/options.js';
import { createPool, type Pool } from '../../src/pool/pool.js';
import { rendezvousKeyHash, rendezvousOwner, rendezvousScore } from '../../src/pool/rendezvous.js';
import { createInMemoryAdapter, type InMemoryAdapter } from '../../src/testing/index.js';
import { EventLog, eventually, expectCode, sleep, temporaryDataDir, Toolbox } from './pool-test-support.js';

interface WhoAmI {
  workerId: string;
  sessionId: string | null;
}

interface SeatAdapterOptions {
  /** Seats reported as soon as the pool starts watching. */
  seats?: readonly string[];
  capacity?: number;
  startDelayMs?: number;
  /** Return an error to make a start of `seat` fail (`attempt` counts that seat's starts, from 1). */
  failStart?: (seat: string, attempt: number) => Error | undefined;
}

interface SeatAdapter {
  adapter: AdapterV2;
  inner: InMemoryAdapter;
  toolbox: Toolbox;
  /** Reports a new set of seats (once the pool watches). */
  update(seats: readonly string[]): void;
  /** Resolves with the watch context once the pool started watching. */
  watching: Promise<SeatWatchContext>;
  /** Every start attempt: its seat, worker id and when it began. */
  starts: Array<{ seat: string; workerId: string; at: number }>;
  seatOf(workerId: string): string;
}

function seatAdapter(options: SeatAdapterOptions = {}): SeatAdapter {
  const toolbox = new Toolbox();
  const inner = createInMemoryAdapter({
    tools: toolbox.tools,
    capacity: options.capacity ?? 1,
    ...(options.startDelayMs !== undefined ? { startDelayMs: options.startDelayMs } : {}),
  });
  const starts: SeatAdapter['starts'] = [];
  const attempts = new Map<string, number>();
  let watch: SeatWatchContext | undefined;
  let resolveWatching!: (context: SeatWatchContext) => void;
  const watching = new Promise<SeatWatchContext>((resolve) => (resolveWatching = resolve));
  const adapter: AdapterV2 = {
    specificationVersion: 'v2',
    name: 'seats-in-memory',
    usesHostBridge: false,
    doWatchSeats(context) {
      watch = context;
      if (options.seats !== undefined) context.update(options.seats);
      resolveWatching(context);
    },
    async doStartWorker(context: SeatStartContext) {
      starts.push({ seat: context.seat, workerId: context.workerId, at: performance.now() });
      const attempt = (attempts.get(context.seat) ?? 0) + 1;
      attempts.set(context.seat, attempt);
      const failure = options.failStart?.(context.seat, attempt);
      if (failure !== undefined) throw failure;
      return inner.doStartWorker(context);
    },
  };
  return {
    adapter,
    inner,
    toolbox,
    watching,
    starts,
    update(seats) {
      if (watch === undefined) throw new Error('the pool does not watch the seats yet');
      watch.update(seats);
    },
    seatOf(workerId) {
      const start = starts.find((entry) => entry.workerId === workerId);
      if (start === undefined) throw new Error(`no worker ${workerId}`);
      return start.seat;
    },
  };
}

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 2_000 })));
});

function seatPool(seats: SeatAdapter, options: Omit<PoolOptions, 'adapter'> = {}): Pool {
  const pool = createPool({ dataDir: temporaryDataDir(), restartBackoff: { initialMs: 5, maxMs: 50 }, ...options, adapter: seats.adapter });
  pools.push(pool);
  return pool;
}

function readySeats(pool: Pool): string[] {
  return pool
    .listWorkers()
    .filter((worker) => worker.state === 'ready')
    .map((worker) => worker.seat!)
    .sort();
}

async function allReady(pool: Pool, seats: readonly string[]): Promise<void> {
  await eventually(() => expect(readySeats(pool)).toEqual([...seats].sort()));
}

/** The seat keys ranked for `sessionId`, best first, as rendezvous hashing ranks them. */
function ranking(sessionId: string, keys: readonly string[]): string[] {
  const score = (key: string) => rendezvousScore(rendezvousKeyHash(key), sessionId);
  return [...keys].sort((a, b) => score(b) - score(a) || (a < b ? -1 : 1));
}

function expectedOwner(sessionId: string, keys: readonly string[]): string {
  return rendezvousOwner(sessionId, keys.map((key) => ({ rendezvousKey: key, rendezvousKeyHash: rendezvousKeyHash(key) })))!.rendezvousKey;
}

/** A session id whose owner among `keys` is `seat`. */
function sessionOwnedBy(seat: string, keys: readonly string[], prefix = 'session'): string {
  for (let index = 0; index < 10_000; index += 1) {
    const sessionId = `${prefix}-${index}`;
    if (expectedOwner(sessionId, keys) === seat) return sessionId;
  }
  throw new Error(`no session owned by ${seat}`);
}

async function whereRuns(pool: Pool, seats: SeatAdapter, sessionId: string, affinity?: AffinityMode): Promise<string> {
  const result = (await pool.executeInSession(sessionId, 'whoami', {}, affinity === undefined ? {} : { affinity })) as WhoAmI;
  return seats.seatOf(result.workerId);
}

const fleet = ['10.0.0.1:50051', '10.0.0.2:50051', '10.0.0.3:50051', '10.0.0.4:50051'];

describe('v2 adapters: seats', () => {
  it('keeps one worker per reported seat, each started for its seat', async () => {
    const seats = seatAdapter({ seats: fleet });
    const pool = seatPool(seats);
    await pool.ready();
    await allReady(pool, fleet);
    const workers = pool.listWorkers();
    expect(workers).toHaveLength(4);
    for (const worker of workers) expect(worker.seat).toBe(seats.seatOf(worker.id));
    expect(seats.starts.map((start) => start.seat).sort()).toEqual([...fleet].sort());
    expect(pool.stats().workers).toMatchObject({ total: 4, ready: 4 });
    // Calls run on them.
    expect(await pool.execute('echo', { x: 1 })).toEqual({ x: 1 });
  });

  it('opens no host bridge for an adapter that does not use one, and hands workers the host request handler', async () => {
    const seats = seatAdapter({ seats: ['a'] });
    const pool = seatPool(seats);
    await pool.ready();
    const [context] = seats.inner.startContexts();
    expect(context!.hostAddress).toBeUndefined();
    expect(typeof context!.hostRequests).toBe('function');
    expect((context as SeatStartContext).seat).toBe('a');
  });

  it('ignores duplicate and empty seat keys', async () => {
    const seats = seatAdapter({ seats: ['a', 'a', '', 'b', 'b'] });
    const pool = seatPool(seats);
    await allReady(pool, ['a', 'b']);
    await sleep(30);
    expect(seats.starts).toHaveLength(2);
  });

  it('waits for the first report: ready() resolves once a seat has a worker', async () => {
    const seats = seatAdapter();
    const pool = seatPool(seats);
    let ready = false;
    const readiness = pool.ready().then(() => (ready = true));
    await seats.watching;
    await sleep(20);
    expect(ready).toBe(false);
    expect(pool.listWorkers()).toEqual([]);
    seats.update(['a']);
    await readiness;
    expect(readySeats(pool)).toEqual(['a']);
  });

  it('starts a worker for a seat added later, and leaves the others alone', async () => {
    const seats = seatAdapter({ seats: ['a', 'b'] });
    const pool = seatPool(seats);
    await allReady(pool, ['a', 'b']);
    const before = pool.listWorkers().map((worker) => worker.id).sort();
    seats.update(['a', 'b', 'c']);
    await allReady(pool, ['a', 'b', 'c']);
    const after = pool.listWorkers();
    expect(after.filter((worker) => worker.seat !== 'c').map((worker) => worker.id).sort()).toEqual(before);
    expect(seats.starts.filter((start) => start.seat === 'c')).toHaveLength(1);
  });

  it('lets a call running on a removed seat finish, then stops its worker and never restarts it', async () => {
    const seats = seatAdapter({ seats: ['a', 'b'] });
    const pool = seatPool(seats);
    const events = new EventLog(pool, ['worker:exit', 'worker:spawn']);
    await allReady(pool, ['a', 'b']);
    const workerOfB = pool.listWorkers().find((worker) => worker.seat === 'b')!.id;
    // Fill both workers, then release the one on 'a'.
    const first = pool.execute('wait', { name: 'one' });
    const second = pool.execute('wait', { name: 'two' });
    await eventually(() => expect(seats.toolbox.started).toHaveLength(2));
    const running = (name: string) => seats.inner.workers().find((worker) => worker.inFlight > 0 && seats.seatOf(worker.id) === name);
    expect(running('a')).toBeDefined();
    expect(running('b')).toBeDefined();

    seats.update(['a']);
    expect(pool.listWorkers().find((worker) => worker.id === workerOfB)!.state).toBe('draining');
    // Its call was not cut off.
    await sleep(20);
    expect(seats.toolbox.cancelled).toEqual([]);
    // New calls no longer go to it, even while 'a' is busy: they wait for 'a'.
    const later = pool.execute('whoami');
    await sleep(20);
    expect(pool.stats().queueLength).toBe(1);

    seats.toolbox.release('one');
    seats.toolbox.release('two');
    expect(await Promise.all([first, second])).toEqual(['one', 'two']);
    expect(seats.seatOf(((await later) as WhoAmI).workerId)).toBe('a');
    await eventually(() => expect(events.of('worker:exit').map((exit) => exit.workerId)).toContain(workerOfB));
    expect(events.of('worker:exit').find((exit) => exit.workerId === workerOfB)!.expected).toBe(true);
    // Well past any restart backoff: seat 'b' got no new worker.
    await sleep(150);
    expect(seats.starts.filter((start) => start.seat === 'b')).toHaveLength(1);
    expect(pool.listWorkers().map((worker) => worker.seat)).toEqual(['a']);
    expect(pool.stats().counters.restarts).toBe(0);
    expect(pool.stats().counters.failed).toBe(0);
  });

  it('stops at once the idle worker of a removed seat, and starts a fresh one when the seat comes back', async () => {
    const seats = seatAdapter({ seats: ['a', 'b'] });
    const pool = seatPool(seats);
    await allReady(pool, ['a', 'b']);
    const old = pool.listWorkers().find((worker) => worker.seat === 'b')!.id;
    seats.update(['a']);
    await eventually(() => expect(pool.listWorkers().map((worker) => worker.seat)).toEqual(['a']));
    seats.update(['a', 'b']);
    await allReady(pool, ['a', 'b']);
    const fresh = pool.listWorkers().find((worker) => worker.seat === 'b')!.id;
    expect(fresh).not.toBe(old);
  });

  it('abandons the start of a seat removed while its worker starts', async () => {
    const seats = seatAdapter({ seats: ['a'], startDelayMs: 100 });
    const pool = seatPool(seats);
    await seats.watching;
    await eventually(() => expect(seats.starts).toHaveLength(1));
    seats.update([]);
    await sleep(200);
    expect(pool.listWorkers()).toEqual([]);
    expect(seats.inner.workers()).toEqual([]);
  });

  it('retries a seat whose start fails, with a growing backoff, while the other seats serve', async () => {
    const seats = seatAdapter({
      seats: ['good', 'flaky'],
      failStart: (seat, attempt) => (seat === 'flaky' && attempt <= 3 ? new Error(`no route to ${seat}`) : undefined),
    });
    const pool = seatPool(seats, { restartBackoff: { initialMs: 20, maxMs: 1_000, multiplier: 2, jitter: 0 } });
    const events = new EventLog(pool, ['worker:startup_failed']);
    await pool.ready();
    expect(await pool.execute('echo', { ok: true })).toEqual({ ok: true });
    await allReady(pool, ['good', 'flaky']);
    const attempts = seats.starts.filter((start) => start.seat === 'flaky').map((start) => start.at);
    expect(attempts).toHaveLength(4);
    const gaps = attempts.slice(1).map((at, index) => at - attempts[index]!);
    // 20, 40, 80 ms (timers may fire a millisecond early).
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(78);
    expect(events.of('worker:startup_failed')).toHaveLength(3);
    expect(events.of('worker:startup_failed')[0]!.error.message).toContain('no route to flaky');
    expect(pool.stats().counters.restarts).toBe(3);
  });

  it('cancels the pending restart of a failed seat that is removed', async () => {
    const seats = seatAdapter({ seats: ['good', 'bad'], failStart: (seat) => (seat === 'bad' ? new Error('down') : undefined) });
    const pool = seatPool(seats, { restartBackoff: { initialMs: 50, maxMs: 50, jitter: 0 } });
    await allReady(pool, ['good']);
    await eventually(() => expect(seats.starts.filter((start) => start.seat === 'bad')).toHaveLength(1));
    seats.update(['good']);
    await sleep(150);
    expect(seats.starts.filter((start) => start.seat === 'bad')).toHaveLength(1);
    expect(pool.stats().counters.restarts).toBe(0);
  });

  it('rejects ready() with startup_failed when every seat fails to start', async () => {
    const seats = seatAdapter({ seats: ['x', 'y'], failStart: () => new Error('refused') });
    const pool = seatPool(seats, { restartBackoff: { initialMs: 1_000, maxMs: 1_000 } });
    const error = await expectCode(pool.ready(), 'startup_failed');
    expect(error.message).toContain('refused');
    await expectCode(pool.execute('echo'), 'startup_failed');
  });

  it('refuses `size` with a v2 adapter (invalid_parameter)', () => {
    const seats = seatAdapter({ seats: ['a'] });
    let thrown: unknown;
    try {
      createPool({ adapter: seats.adapter, size: 2, dataDir: temporaryDataDir() });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'invalid_parameter', details: { key: 'size' } });
    expect(() => createPool({ adapter: seats.adapter, size: undefined, hostBridge: false, dataDir: temporaryDataDir() }).close()).not.toThrow();
  });

  it('stops watching when the pool closes, and ignores reports after that', async () => {
    const seats = seatAdapter({ seats: ['a'] });
    const pool = seatPool(seats);
    await pool.ready();
    const watch = await seats.watching;
    expect(watch.signal.aborted).toBe(false);
    await pool.close();
    expect(watch.signal.aborted).toBe(true);
    watch.update(['a', 'b']);
    await sleep(30);
    expect(seats.starts).toHaveLength(1);
    expect(pool.listWorkers()).toEqual([]);
  });

  it('survives a doWatchSeats that throws (logged; no seats)', async () => {
    const seats = seatAdapter();
    seats.adapter.doWatchSeats = () => {
      throw new Error('bad configuration');
    };
    const pool = seatPool(seats);
    await sleep(20);
    expect(pool.listWorkers()).toEqual([]);
  });
});

describe('v2 adapters: sessions placed by rendezvous hashing over seat keys', () => {
  it('sends each session to the seat that ranks highest for it, and a second pool agrees', async () => {
    const first = seatAdapter({ seats: fleet });
    // The other process sees the same fleet, reported in another order.
    const second = seatAdapter({ seats: [...fleet].reverse() });
    const poolA = seatPool(first);
    const poolB = seatPool(second);
    await allReady(poolA, fleet);
    await allReady(poolB, fleet);
    const sessionIds = Array.from({ length: 40 }, (_, index) => `user-${index}`);
    const owners = new Set<string>();
    for (const sessionId of sessionIds) {
      const owner = expectedOwner(sessionId, fleet);
      owners.add(owner);
      expect(await whereRuns(poolA, first, sessionId)).toBe(owner);
      expect(await whereRuns(poolB, second, sessionId)).toBe(owner);
      // And again: the session stays put.
      expect(await whereRuns(poolA, first, sessionId)).toBe(owner);
    }
    // The sessions spread over the fleet.
    expect(owners.size).toBeGreaterThan(1);
  });

  it("places a session by rendezvous even when another worker served it last ('hint' fallback)", async () => {
    const seats = seatAdapter({ seats: ['a', 'b'] });
    const pool = seatPool(seats, { affinity: 'hint' });
    await allReady(pool, ['a', 'b']);
    const sessionId = sessionOwnedBy('a', ['a', 'b']);
    const held = pool.executeInSession(sessionId, 'wait', { name: 'hold' });
    await eventually(() => expect(seats.toolbox.started).toContain('hold'));
    // Owner busy: 'hint' runs the call elsewhere...
    expect(await whereRuns(pool, seats, sessionId)).toBe('b');
    seats.toolbox.release('hold');
    await held;
    // ...but the session's worker is still its owner by rank, not the one that served it last.
    expect(await whereRuns(pool, seats, sessionId)).toBe('a');
  });

  it("'strict-queue' waits for the owner when it is busy", async () => {
    const seats = seatAdapter({ seats: ['a', 'b'] });
    const pool = seatPool(seats, { affinity: 'strict-queue' });
    await allReady(pool, ['a', 'b']);
    const sessionId = sessionOwnedBy('a', ['a', 'b']);
    const held = pool.executeInSession(sessionId, 'wait', { name: 'hold' });
    await eventually(() => expect(seats.toolbox.started).toContain('hold'));
    let answered = false;
    const waiting = whereRuns(pool, seats, sessionId).then((seat) => {
      answered = true;
      return seat;
    });
    await sleep(40);
    expect(answered).toBe(false);
    expect(pool.stats().queueLength).toBe(1);
    // Other work still uses the free worker meanwhile.
    expect(seats.seatOf(((await pool.execute('whoami')) as WhoAmI).workerId)).toBe('b');
    seats.toolbox.release('hold');
    await held;
    expect(await waiting).toBe('a');
  });

  it("'strict-fail-fast' fails with worker_busy naming the owner when it is busy", async () => {
    const seats = seatAdapter({ seats: ['a', 'b'] });
    const pool = seatPool(seats, { affinity: 'strict-fail-fast' });
    await allReady(pool, ['a', 'b']);
    const sessionId = sessionOwnedBy('a', ['a', 'b']);
    const owner = pool.listWorkers().find((worker) => worker.seat === 'a')!.id;
    const held = pool.executeInSession(sessionId, 'wait', { name: 'hold' });
    await eventually(() => expect(seats.toolbox.started).toContain('hold'));
    const error = await expectCode(pool.executeInSession(sessionId, 'whoami'), 'worker_busy');
    expect(error.details).toEqual({ sessionId, workerId: owner });
    // Even though 'b' is free.
    expect(pool.stats().workers.busy).toBe(1);
    seats.toolbox.release('hold');
    await held;
    expect(await whereRuns(pool, seats, sessionId)).toBe('a');
  });

  it("moves a departed seat's sessions each to its next in rank, and only those", async () => {
    const seats = seatAdapter({ seats: fleet });
    const pool = seatPool(seats);
    await allReady(pool, fleet);
    const leaving = fleet[1]!;
    const remaining = fleet.filter((key) => key !== leaving);
    const sessionIds = Array.from({ length: 40 }, (_, index) => `cart-${index}`);
    const before = new Map<string, string>();
    for (const sessionId of sessionIds) before.set(sessionId, await whereRuns(pool, seats, sessionId));
    expect([...before.values()]).toContain(leaving);

    seats.update(remaining);
    await allReady(pool, remaining);
    for (const sessionId of sessionIds) {
      const now = await whereRuns(pool, seats, sessionId);
      if (before.get(sessionId) === leaving) expect(now).toBe(ranking(sessionId, fleet)[1]);
      else expect(now).toBe(before.get(sessionId));
    }
  });

  it("moves a 'strict-queue' call waiting for a departing owner to the next in rank", async () => {
    const seats = seatAdapter({ seats: ['a', 'b', 'c'] });
    const pool = seatPool(seats, { affinity: 'strict-queue' });
    await allReady(pool, ['a', 'b', 'c']);
    const sessionId = sessionOwnedBy('a', ['a', 'b', 'c']);
    const next = ranking(sessionId, ['a', 'b', 'c'])[1]!;
    const held = pool.executeInSession(sessionId, 'wait', { name: 'hold' });
    await eventually(() => expect(seats.toolbox.started).toContain('hold'));
    const waiting = whereRuns(pool, seats, sessionId);
    await sleep(20);
    expect(pool.stats().queueLength).toBe(1);
    seats.update(['b', 'c']);
    expect(await waiting).toBe(next);
    seats.toolbox.release('hold');
    expect(await held).toBe('hold');
  });
});
