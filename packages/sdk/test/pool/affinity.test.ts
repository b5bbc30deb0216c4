import { describe, expect, it } from 'vitest';
import type { AffinityMode } from '../../src/pool/call-options.js';
import { EventLog, eventually, expectCode, sleep, testPool } from './pool-test-support.js';

interface WhoAmI {
  workerId: string;
  sessionId: string | null;
}

async function readyPool(size: number, affinity: AffinityMode) {
  const test = testPool({ size, affinity, restartBackoff: { initialMs: 1, maxMs: 10 } });
  await test.pool.ready();
  await expect.poll(() => test.pool.stats().workers.ready).toBe(size);
  return test;
}

describe('session affinity', () => {
  it("'hint' keeps each session on one worker under light load", async () => {
    const { pool } = await readyPool(4, 'hint');
    const sessions = ['a', 'b', 'c', 'd'];
    const placements = await Promise.all(
      sessions.map(async (sessionId) => {
        const workers = new Set<string>();
        for (let call = 0; call < 10; call += 1) {
          const result = (await pool.executeInSession(sessionId, 'whoami')) as WhoAmI;
          expect(result.sessionId).toBe(sessionId);
          workers.add(result.workerId);
        }
        return workers;
      }),
    );
    expect(placements.every((workers) => workers.size === 1)).toBe(true);
    // New sessions spread over the workers.
    expect(new Set(placements.map((workers) => [...workers][0])).size).toBe(4);
  });

  it("'hint' falls back to a free worker when the session's worker is busy, and the session moves", async () => {
    const { pool, toolbox } = await readyPool(2, 'hint');
    const home = ((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId;
    const held = pool.executeInSession('s', 'wait', { name: 'hold' });
    const elsewhere = ((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId;
    expect(elsewhere).not.toBe(home);
    toolbox.release('hold');
    await held;
    expect(((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId).toBe(elsewhere);
  });

  it("'strict-queue' waits for the session's own worker", async () => {
    const { pool, toolbox } = await readyPool(2, 'strict-queue');
    const home = ((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId;
    const held = pool.executeInSession('s', 'wait', { name: 'hold' });
    let answered = false;
    const waiting = pool.executeInSession('s', 'whoami').then((result) => {
      answered = true;
      return result as WhoAmI;
    });
    await sleep(40);
    expect(answered).toBe(false);
    expect(pool.stats().queueLength).toBe(1);
    // Other work still uses the free worker meanwhile.
    expect(((await pool.execute('whoami')) as WhoAmI).workerId).not.toBe(home);
    toolbox.release('hold');
    await held;
    expect((await waiting).workerId).toBe(home);
  });

  it("'strict-fail-fast' fails with worker_busy at once when the session's worker is at capacity", async () => {
    const { pool, toolbox } = await readyPool(2, 'strict-fail-fast');
    const home = ((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId;
    const held = pool.executeInSession('s', 'wait', { name: 'hold' });
    const error = await expectCode(pool.executeInSession('s', 'whoami'), 'worker_busy');
    expect(error.details).toEqual({ sessionId: 's', workerId: home });
    toolbox.release('hold');
    await held;
    expect(((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId).toBe(home);
  });

  it('lets one call override the pool affinity mode', async () => {
    const { pool, toolbox } = await readyPool(2, 'hint');
    await pool.executeInSession('s', 'whoami');
    const held = pool.executeInSession('s', 'wait', { name: 'hold' });
    await expectCode(pool.executeInSession('s', 'whoami', {}, { affinity: 'strict-fail-fast' }), 'worker_busy');
    toolbox.release('hold');
    await held;
  });

  it('announces a session to a worker once, when it first lands there', async () => {
    const { pool, adapter } = await readyPool(2, 'hint');
    for (let call = 0; call < 5; call += 1) await pool.executeInSession('s1', 'echo', {});
    await pool.executeInSession('s2', 'echo', {});
    const announced = adapter.workers().flatMap((worker) => worker.begunSessions);
    expect(announced.sort()).toEqual(['s1', 's2']);
    expect(pool.listWorkers().reduce((total, worker) => total + worker.sessions, 0)).toBe(2);
  });

  it("moves a session to a live worker after its worker crashed, and it sticks there", async () => {
    const { pool, adapter } = await readyPool(2, 'strict-queue');
    const home = ((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId;
    adapter.crash(home);
    await eventually(() => expect(pool.listWorkers().map((worker) => worker.id)).not.toContain(home));
    const next = ((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId;
    expect(next).not.toBe(home);
    await expect.poll(() => pool.stats().workers.ready).toBe(2);
    for (let call = 0; call < 5; call += 1) {
      expect(((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId).toBe(next);
    }
  });

  it('calls waiting for a crashed worker go to another worker instead', async () => {
    const { pool, adapter } = await readyPool(2, 'strict-queue');
    const held = pool.executeInSession('s', 'wait', { name: 'hold' });
    // A session call first makes sure its session exists, so it is dispatched a tick later.
    await eventually(() => expect(pool.listWorkers().some((worker) => worker.load === 1)).toBe(true));
    const home = pool.listWorkers().find((worker) => worker.load === 1)!.id;
    const waiting = [pool.executeInSession('s', 'whoami'), pool.executeInSession('s', 'whoami')];
    await eventually(() => expect(pool.stats().queueLength).toBe(2));
    adapter.crash(home);
    await expectCode(held, 'worker_exit');
    const placements = (await Promise.all(waiting)) as WhoAmI[];
    expect(placements[0]!.workerId).not.toBe(home);
    expect(placements[1]!.workerId).toBe(placements[0]!.workerId);
  });

  it('serves 100 sessions x 10 parallel calls on pool(4) in every mode as specified', async () => {
    for (const affinity of ['hint', 'strict-queue', 'strict-fail-fast'] as const) {
      const { pool } = await readyPool(4, affinity);
      const calls = Array.from({ length: 100 }, (_, session) =>
        Array.from({ length: 10 }, () =>
          pool.executeInSession(`session-${session}`, 'whoami').then(
            (result) => ({ ok: true as const, result: result as WhoAmI }),
            (error: unknown) => ({ ok: false as const, error }),
          ),
        ),
      );
      const outcomes = await Promise.all(calls.map((session) => Promise.all(session)));
      for (const [index, session] of outcomes.entries()) {
        const served = session.filter((outcome) => outcome.ok).map((outcome) => (outcome.ok ? outcome.result : undefined)!);
        expect(served.every((result) => result.sessionId === `session-${index}`)).toBe(true);
        if (affinity === 'strict-fail-fast') {
          // Calls that could not run on the session's worker failed fast; the rest ran there.
          expect(session.filter((outcome) => !outcome.ok).every((outcome) => (outcome as { error: { code: string } }).error.code === 'worker_busy')).toBe(true);
          expect(served.length).toBeGreaterThan(0);
          expect(new Set(served.map((result) => result.workerId)).size).toBe(1);
        } else {
          expect(served).toHaveLength(10);
          if (affinity === 'strict-queue') expect(new Set(served.map((result) => result.workerId)).size).toBe(1);
        }
      }
      await pool.close();
    }
  });

  it('emits call:start with the session id', async () => {
    const { pool } = await readyPool(1, 'hint');
    const log = new EventLog(pool, ['call:start', 'call:end']);
    await pool.executeInSession('s', 'echo', {});
    expect(log.of('call:start')[0]).toMatchObject({ sessionId: 's', tool: 'echo' });
    expect(log.of('call:end')[0]).toMatchObject({ sessionId: 's', halted: false });
  });
});
