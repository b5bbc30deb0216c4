/**
 * Refusals: a worker shared with other pools may refuse a call it has no room for, before running
 * it (`errors.workerRefused`). The pool puts the call back; its caller never sees the refusal.
 * The workers here are the in-memory adapter's, behind a wrapper that refuses as the test says.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterV1, AdapterWorkerV1, CallContext, CallRequest } from '../../src/adapter/v1/adapter.js';
import { errors } from '../../src/errors.js';
import type { PoolOptions } from '../../src/pool/options.js';
import { createPool, type Pool } from '../../src/pool/pool.js';
import { deferred, type Deferred } from '../../src/testing/deferred.js';
import { createInMemoryAdapter, type InMemoryAdapter, type InMemoryAdapterOptions } from '../../src/testing/index.js';
import type { Chunk } from '../../src/wire/chunk.js';
import { EventLog, eventually, expectCode, sleep, temporaryDataDir, Toolbox } from './pool-test-support.js';

interface WhoAmI {
  workerId: string;
  sessionId: string | null;
}

interface Attempt {
  workerId: string;
  request: CallRequest;
  kind: 'execute' | 'stream';
}

/**
 * What a worker does with an attempt: undefined runs it; a string refuses it with that reason at
 * once; a `{ reason, after }` refuses it once `after` settles.
 */
type Policy = (attempt: Attempt) => string | { reason: string; after: Promise<unknown> } | undefined;

interface RefusingPool {
  pool: Pool;
  inner: InMemoryAdapter;
  toolbox: Toolbox;
  attempts: Attempt[];
  /** Tools in the order they started running (after any refusals). */
  ran: string[];
  setPolicy(policy: Policy): void;
}

function refusal(workerId: string, reason: string) {
  return errors.workerRefused(workerId, reason, `worker ${workerId} has no room (${reason})`);
}

function wrap(worker: AdapterWorkerV1, decide: (attempt: Attempt) => ReturnType<Policy>): AdapterWorkerV1 {
  const refused = (attempt: Attempt): Promise<never> | undefined => {
    const decision = decide(attempt);
    if (decision === undefined) return undefined;
    if (typeof decision === 'string') return Promise.reject(refusal(worker.id, decision));
    return decision.after.then(
      () => Promise.reject(refusal(worker.id, decision.reason)),
      () => Promise.reject(refusal(worker.id, decision.reason)),
    );
  };
  return {
    id: worker.id,
    pid: worker.pid,
    capacity: worker.capacity,
    info: worker.info,
    exited: worker.exited,
    doExecute(request: CallRequest, context: CallContext) {
      return refused({ workerId: worker.id, request, kind: 'execute' }) ?? worker.doExecute(request, context);
    },
    doStream(request: CallRequest, context: CallContext): AsyncIterable<Chunk> {
      const refusing = refused({ workerId: worker.id, request, kind: 'stream' });
      if (refusing === undefined) return worker.doStream(request, context);
      // Like a remote worker: the refusal arrives instead of the first chunk.
      return (async function* () {
        await refusing;
      })();
    },
    doPing: (timeoutMs) => worker.doPing(timeoutMs),
    doBeginSession: (sessionId) => worker.doBeginSession!(sessionId),
    doStop: (options) => worker.doStop(options),
  };
}

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 2_000 })));
});

function refusingPool(
  policy: Policy,
  poolOptions: Omit<PoolOptions, 'adapter'> = {},
  adapterOptions: Partial<InMemoryAdapterOptions> = {},
): RefusingPool {
  const toolbox = new Toolbox();
  const ran: string[] = [];
  const inner = createInMemoryAdapter({
    ...adapterOptions,
    tools: {
      ...toolbox.tools,
      record: (args, context) => {
        ran.push(String(args.label));
        return { label: args.label, workerId: context.workerId };
      },
    },
  });
  const attempts: Attempt[] = [];
  let current = policy;
  const adapter: AdapterV1 = {
    specificationVersion: 'v1',
    name: 'refusing-memory',
    async doStartWorker(context) {
      const worker = await inner.doStartWorker(context);
      return wrap(worker, (attempt) => {
        attempts.push(attempt);
        return current(attempt);
      });
    },
  };
  const pool = createPool({ size: 1, dataDir: temporaryDataDir(), hostBridge: false, restartBackoff: { initialMs: 5, maxMs: 50 }, ...poolOptions, adapter });
  pools.push(pool);
  return { pool, inner, toolbox, attempts, ran, setPolicy: (next) => (current = next) };
}

/** Refuses the first `count` attempts of `tool` (every tool when omitted) with `reason`. */
function refuseFirst(count: number, tool?: string, reason = 'full'): Policy {
  let refused = 0;
  return (attempt) => {
    if (tool !== undefined && attempt.request.tool !== tool) return undefined;
    if (refused >= count) return undefined;
    refused += 1;
    return reason;
  };
}

async function readyPool(test: RefusingPool, size: number): Promise<RefusingPool> {
  await test.pool.ready();
  await expect.poll(() => test.pool.stats().workers.ready).toBe(size);
  return test;
}

function expectSettledCleanly(pool: Pool): void {
  const stats = pool.stats();
  expect(stats.inFlight).toBe(0);
  expect(stats.queueLength).toBe(0);
  expect(stats.workers.busy).toBe(0);
}

describe('worker refusals', () => {
  it('puts a refused call back until it runs; the caller never sees the refusal', async () => {
    const test = await readyPool(refusingPool(refuseFirst(3, 'echo'), { size: 2 }), 2);
    const { pool } = test;
    const events = new EventLog(pool, ['call:refused', 'call:start', 'call:end', 'call:error']);
    expect(await pool.execute('echo', { x: 1 })).toEqual({ x: 1 });
    const refused = events.of('call:refused');
    expect(refused).toHaveLength(3);
    const callId = events.of('call:start')[0]!.callId;
    for (const event of refused) {
      expect(event).toMatchObject({ callId, tool: 'echo', reason: 'full' });
      expect(['w1', 'w2']).toContain(event.workerId);
    }
    expect(events.of('call:start')).toHaveLength(4);
    expect(events.of('call:end')).toHaveLength(1);
    expect(events.of('call:error')).toHaveLength(0);
    const stats = pool.stats();
    expect(stats.counters).toMatchObject({ refusals: 3, failed: 0, completed: 1 });
    expectSettledCleanly(pool);
    // The tool ran once, after the refusals.
    expect(test.inner.callCount('echo')).toBe(1);
  });

  it('runs a call on the same worker once its pause after the refusals is over', async () => {
    const test = await readyPool(refusingPool(refuseFirst(4, 'whoami')), 1);
    const result = (await test.pool.execute('whoami')) as WhoAmI;
    expect(result.workerId).toBe('w1');
    expect(test.attempts.map((attempt) => attempt.workerId)).toEqual(['w1', 'w1', 'w1', 'w1', 'w1']);
    expect(test.pool.stats().counters).toMatchObject({ refusals: 4, failed: 0, completed: 1 });
    expectSettledCleanly(test.pool);
  });

  it('sends a refused call to another free worker', async () => {
    const refusingWorker = 'w1';
    const test = await readyPool(
      refusingPool((attempt) => (attempt.workerId === refusingWorker ? 'full' : undefined), { size: 2 }),
      2,
    );
    const results = [];
    for (let call = 0; call < 6; call += 1) results.push((await test.pool.execute('whoami')) as WhoAmI);
    expect(results.every((result) => result.workerId === 'w2')).toBe(true);
    const counters = test.pool.stats().counters;
    expect(counters.refusals).toBeGreaterThanOrEqual(1);
    expect(counters).toMatchObject({ failed: 0, completed: 6 });
    expectSettledCleanly(test.pool);
  });

  it('counts a refusal as neither a failure nor a completion, and leaves the worker idle', async () => {
    const gate = deferred();
    const test = await readyPool(refusingPool(() => ({ reason: 'full', after: gate.promise })), 1);
    const call = test.pool.execute('echo', { y: 2 });
    await eventually(() => expect(test.pool.stats().inFlight).toBe(1));
    test.setPolicy(() => undefined);
    gate.resolve();
    expect(await call).toEqual({ y: 2 });
    expect(test.pool.stats().counters).toMatchObject({ refusals: 1, failed: 0, completed: 1 });
    expectSettledCleanly(test.pool);
  });

  it("fails a 'strict-fail-fast' session call refused by its worker with worker_busy", async () => {
    const test = await readyPool(refusingPool(() => undefined, { size: 2, affinity: 'strict-fail-fast' }), 2);
    const { pool } = test;
    const events = new EventLog(pool, ['call:refused', 'call:error']);
    const home = ((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId;
    test.setPolicy(refuseFirst(1));
    const error = await expectCode(pool.executeInSession('s', 'whoami'), 'worker_busy');
    expect(error.details).toEqual({ sessionId: 's', workerId: home });
    expect(error.details.refusedByWorker).toBeUndefined();
    expect(events.of('call:refused')).toHaveLength(1);
    expect(events.of('call:error').map((event) => event.code)).toEqual(['worker_busy']);
    expect(pool.stats().counters).toMatchObject({ refusals: 1, failed: 1 });
    expectSettledCleanly(pool);
    // The session still lives on its worker.
    await sleep(300);
    expect(((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId).toBe(home);
  });

  it("keeps a 'strict-queue' session call refused by its worker for that worker", async () => {
    const test = await readyPool(refusingPool(() => undefined, { size: 2, affinity: 'strict-queue' }), 2);
    const { pool } = test;
    const home = ((await pool.executeInSession('s', 'whoami')) as WhoAmI).workerId;
    test.setPolicy(refuseFirst(3));
    const result = (await pool.executeInSession('s', 'whoami')) as WhoAmI;
    expect(result.workerId).toBe(home);
    expect(test.attempts.slice(-4).every((attempt) => attempt.workerId === home)).toBe(true);
    expect(pool.stats().counters).toMatchObject({ refusals: 3, failed: 0 });
    expectSettledCleanly(pool);
  });

  it('retries a stream refused before its first chunk; its consumer sees every chunk', async () => {
    const test = await readyPool(refusingPool(refuseFirst(2, 'ticks'), { size: 2 }), 2);
    const { pool } = test;
    const events = new EventLog(pool, ['call:refused', 'call:error']);
    const chunks: Chunk[] = [];
    for await (const chunk of pool.executeStream('ticks', { limit: 4 })) chunks.push(chunk);
    expect(chunks).toEqual([
      { tick: 0, is_final: false },
      { tick: 1, is_final: false },
      { tick: 2, is_final: false },
      { tick: 3, is_final: false },
      { is_final: true },
    ]);
    expect(events.of('call:refused')).toHaveLength(2);
    expect(events.of('call:error')).toHaveLength(0);
    expect(pool.stats().counters).toMatchObject({ refusals: 2, failed: 0, completed: 1 });
    expectSettledCleanly(pool);
    expect(test.inner.callCount('ticks')).toBe(1);
  });

  it('retries a stream whose doStream throws the refusal synchronously, like doExecute', async () => {
    const inner = createInMemoryAdapter({ tools: new Toolbox().tools });
    let refusals = 0;
    const adapter: AdapterV1 = {
      specificationVersion: 'v1',
      name: 'sync-refusal',
      async doStartWorker(context) {
        const worker = await inner.doStartWorker(context);
        const wrapped = wrap(worker, () => undefined);
        return {
          ...wrapped,
          doStream(request, callContext) {
            if (refusals < 2) {
              refusals += 1;
              throw refusal(worker.id, 'full');
            }
            return worker.doStream(request, callContext);
          },
          doExecute(request, callContext) {
            if (refusals < 2) {
              refusals += 1;
              throw refusal(worker.id, 'full');
            }
            return worker.doExecute(request, callContext);
          },
        };
      },
    };
    const pool = createPool({ adapter, size: 1, hostBridge: false, dataDir: temporaryDataDir() });
    pools.push(pool);
    await pool.ready();
    const chunks: Chunk[] = [];
    for await (const chunk of pool.executeStream('ticks', { limit: 2 })) chunks.push(chunk);
    expect(chunks).toEqual([{ tick: 0, is_final: false }, { tick: 1, is_final: false }, { is_final: true }]);
    refusals = 0;
    expect(await pool.execute('echo', { z: 1 })).toEqual({ z: 1 });
    expect(pool.stats().counters).toMatchObject({ refusals: 4, failed: 0, completed: 2 });
    expectSettledCleanly(pool);
  });

  it("stops routing to a worker that refuses as 'draining'; its other call finishes, then it is replaced", async () => {
    let draining = false;
    const test = await readyPool(
      refusingPool((attempt) => (draining && attempt.workerId === 'w1' ? 'draining' : undefined), { size: 1 }, { capacity: 2 }),
      1,
    );
    const { pool, toolbox } = test;
    const events = new EventLog(pool, ['worker:exit', 'call:refused']);
    const long = pool.execute('wait', { name: 'long' });
    await eventually(() => expect(toolbox.started).toContain('long'));
    draining = true;
    const moved = pool.execute('whoami') as Promise<WhoAmI>;
    await eventually(() => expect(events.of('call:refused')).toHaveLength(1));
    expect(events.of('call:refused')[0]).toMatchObject({ workerId: 'w1', reason: 'draining' });
    expect(pool.listWorkers().find((worker) => worker.id === 'w1')!.state).toBe('draining');
    // The refused call runs on the replacement; the draining worker's call is not cut off.
    expect((await moved).workerId).not.toBe('w1');
    expect(toolbox.cancelled).toEqual([]);
    // Nothing new reaches w1 even though it has room for one more call.
    for (let call = 0; call < 3; call += 1) expect(((await pool.execute('whoami')) as WhoAmI).workerId).not.toBe('w1');
    expect(test.attempts.filter((attempt) => attempt.workerId === 'w1')).toHaveLength(2);
    toolbox.release('long', 'done');
    expect(await long).toBe('done');
    await eventually(() => expect(events.of('worker:exit').map((exit) => exit.workerId)).toEqual(['w1']));
    expect(events.of('worker:exit')[0]!.expected).toBe(true);
    expect(pool.stats().counters).toMatchObject({ refusals: 1, failed: 0 });
    expectSettledCleanly(pool);
  });

  it('bounds a call refused forever by its deadline (timeout, no hang)', async () => {
    const test = await readyPool(refusingPool(() => 'full', { size: 2 }), 2);
    const { pool } = test;
    const startedAt = Date.now();
    const error = await expectCode(pool.execute('echo', {}, { timeoutMs: 300 }), 'timeout');
    expect(Date.now() - startedAt).toBeLessThan(1_500);
    expect(error.details).toMatchObject({ timeoutMs: 300, tool: 'echo' });
    const counters = pool.stats().counters;
    expect(counters.refusals).toBeGreaterThan(2);
    expect(counters).toMatchObject({ failed: 1, timedOut: 1, completed: 0 });
    expectSettledCleanly(pool);
  });

  it('bounds a stream refused forever by its deadline', async () => {
    const test = await readyPool(refusingPool(() => 'full'), 1);
    const stream = test.pool.executeStream('ticks', {}, { timeoutMs: 200 });
    await expectCode(stream.next(), 'timeout');
    expect(test.pool.stats().counters).toMatchObject({ failed: 1, timedOut: 1 });
    expectSettledCleanly(test.pool);
  });

  it('keeps the place of a refused call ahead of calls that queued after it', async () => {
    const test = await readyPool(refusingPool(() => undefined), 1);
    const { pool, toolbox, ran } = test;
    const blocker = pool.execute('wait', { name: 'blocker' });
    await eventually(() => expect(toolbox.started).toContain('blocker'));
    const calls = ['a', 'b', 'c'].map((label) => pool.execute('record', { label }));
    await eventually(() => expect(pool.stats().queueLength).toBe(3));
    test.setPolicy(refuseFirst(1, 'record'));
    toolbox.release('blocker');
    await Promise.all([blocker, ...calls]);
    expect(pool.stats().counters.refusals).toBe(1);
    expect(test.attempts.filter((attempt) => attempt.request.tool === 'record').map((attempt) => label(attempt))).toEqual(['a', 'a', 'b', 'c']);
    expect(ran).toEqual(['a', 'b', 'c']);
    expectSettledCleanly(pool);
  });

  it('keeps a call refused while others queued behind it (never queued itself) at the head', async () => {
    const gate: Deferred<void> = deferred();
    let first = true;
    const test = await readyPool(
      refusingPool((attempt) => {
        if (!first || attempt.request.tool !== 'record') return undefined;
        first = false;
        return { reason: 'full', after: gate.promise };
      }),
      1,
    );
    const { pool, ran } = test;
    const calls = ['a', 'b', 'c'].map((label) => pool.execute('record', { label }));
    // 'a' went straight to the worker; 'b' and 'c' queued behind it.
    await eventually(() => expect(pool.stats().queueLength).toBe(2));
    gate.resolve();
    await Promise.all(calls);
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(pool.stats().counters.refusals).toBe(1);
    expectSettledCleanly(pool);
  });

  it('fails with pool_closed a call refused while the pool closes, and close() does not wait for it', async () => {
    const gate = deferred();
    const test = await readyPool(
      refusingPool(() => ({ reason: 'full', after: gate.promise }), { queueTimeoutMs: 60_000, timeoutMs: 60_000 }),
      1,
    );
    const { pool } = test;
    const call = pool.execute('echo');
    const outcome = call.then(
      () => 'completed',
      (error: { code?: string }) => error.code,
    );
    await eventually(() => expect(pool.stats().inFlight).toBe(1));
    const startedAt = Date.now();
    // Graceful: close() waits for calls in flight, up to 5 s here.
    const closing = pool.close({ timeoutMs: 5_000 });
    gate.resolve();
    await closing;
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    // Settled by the time close() resolves: not left in a queue nobody serves.
    expect(await Promise.race([outcome, sleep(0).then(() => 'pending')])).toBe('pool_closed');
    expect(pool.stats().queueLength).toBe(0);
    expect(pool.stats().inFlight).toBe(0);
    expect(test.attempts).toHaveLength(1);
  });

  it('lets the caller abort a refused call waiting to be put back', async () => {
    const test = await readyPool(refusingPool(() => 'full'), 1);
    const controller = new AbortController();
    const call = test.pool.execute('echo', {}, { signal: controller.signal });
    await eventually(() => expect(test.pool.stats().counters.refusals).toBeGreaterThanOrEqual(2));
    controller.abort();
    await expectCode(call, 'aborted');
    expectSettledCleanly(test.pool);
  });
});

function label(attempt: Attempt): string {
  return JSON.parse(Buffer.from(attempt.request.args.json.label!).toString('utf8')) as string;
}
