/** Python reaching back into Node: host tools, session state that outlives a worker, quotas, heartbeats. */
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, type Pool, type PoolOptions } from '@snakepit/sdk';
import { failureOf } from '@snakepit/sdk/testing';
import { isAlive, showcaseAdapter, waitUntil } from './python-under-test.js';

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

async function readyPool(options: Omit<PoolOptions, 'adapter'> = {}): Promise<Pool> {
  const pool = createPool({ adapter: showcaseAdapter(), size: 1, ...options });
  pools.push(pool);
  await pool.ready();
  const size = options.size ?? 1;
  await waitUntil(() => pool.listWorkers().filter((worker) => worker.state === 'ready').length === size, 30_000);
  return pool;
}

describe('host tools called from Python', () => {
  it('returns host results as plain Python values and passes the caller session id', async () => {
    const pool = await readyPool();
    const seenSessions: Array<string | undefined> = [];
    pool.tools.register('double', (args) => (args.x as number) * 2, { description: 'Doubles x' });
    pool.tools.register('shout', (args) => `${String(args.text).toUpperCase()}!`);
    pool.tools.register('whoami', async (_args, context) => {
      seenSessions.push(context.sessionId);
      return { session: context.sessionId ?? null };
    });

    expect(await pool.execute('call_host', { name: 'double', args: { x: 21 } })).toBe(42);
    // The Python side checks the type: an int, not a float.
    expect(await pool.execute('echo', { value: await pool.execute('call_host', { name: 'double', args: { x: 21 } }) })).toEqual({ value: 42 });
    expect(await pool.execute('call_host', { name: 'shout', args: { text: 'grüße' } })).toBe('GRÜSSE!');
    expect(await pool.execute('call_host_async', { name: 'double', args: { x: 5 } })).toBe(10);
    expect(await pool.executeInSession('user-7', 'call_host', { name: 'whoami' })).toEqual({ session: 'user-7' });
    expect(seenSessions).toEqual(['user-7']);

    const listed = (await pool.execute('list_host_tools', {})) as Array<{ name: string }>;
    expect(listed.map((tool) => tool.name).sort()).toEqual(['double', 'shout', 'whoami']);
  });

  it('raises a Python exception for an unknown host tool, listing the available ones', async () => {
    const pool = await readyPool();
    pool.tools.register('double', (args) => (args.x as number) * 2);
    const error = await failureOf(pool.execute('call_host', { name: 'triple', args: { x: 1 } }));
    expect(error.code).toBe('python_error');
    expect(error.pythonType).toContain('UnknownHostToolError');
    expect(error.message).toContain('double');
  });

  it('raises a Python exception carrying the message of a host tool that throws', async () => {
    const pool = await readyPool();
    pool.tools.register('explode', () => {
      throw new Error('the database is on fire');
    });
    const error = await failureOf(pool.execute('call_host', { name: 'explode' }));
    expect(error.code).toBe('python_error');
    expect(error.pythonType).toContain('HostToolError');
    expect(error.message).toContain('the database is on fire');
    expect(await pool.execute('add', { a: 1, b: 2 })).toBe(3);
  });
});

describe('session state', () => {
  it('is written by a tool on one worker and read by the next call of the session on another', async () => {
    const pool = await readyPool({ size: 2 });
    const session = pool.session('cart-42');
    expect(await session.execute('state_set', { key: 'items', value: [1, 2, { sku: 'x' }] })).toBe(true);
    const home = (await session.execute('pid', {})) as number;

    process.kill(home, 'SIGKILL');
    await waitUntil(() => !pool.listWorkers().some((worker) => worker.pid === home), 5000);
    const read = await session.execute('state_get', { key: 'items' });
    expect(read).toEqual([1, 2, { sku: 'x' }]);
    const servedBy = (await session.execute('pid', {})) as number;
    expect(servedBy).not.toBe(home);

    expect(await session.state.get('items')).toEqual([1, 2, { sku: 'x' }]);
    await session.state.set('from_node', 'hello');
    expect(await session.execute('state_get', { key: 'from_node' })).toBe('hello');
  });
});

describe('session quotas', () => {
  it('fails the third session at maxSessions 2, allows re-creating one, and frees a slot after the TTL', async () => {
    const pool = await readyPool({ sessions: { maxSessions: 2, ttlMs: 300 } });
    await pool.sessions.create('a');
    await pool.sessions.create('b');
    const refused = await failureOf(pool.sessions.create('c'));
    expect(refused.code).toBe('session_quota_exceeded');
    expect((await pool.sessions.create('a')).id).toBe('a');
    const refusedCall = await failureOf(pool.executeInSession('c', 'add', { a: 1, b: 1 }));
    expect(refusedCall.code).toBe('session_quota_exceeded');

    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await pool.sessions.create('c')).id).toBe('c');
  });

  it('lets a restarted worker become healthy while user sessions are at quota', async () => {
    const pool = await readyPool({ sessions: { maxSessions: 1 } });
    await pool.sessions.create('only');
    const before = pool.listWorkers()[0]!.pid!;
    await failureOf(pool.execute('crash', { code: 3 }));
    const replaced = await waitUntil(() => {
      const [worker] = pool.listWorkers();
      return worker !== undefined && worker.state === 'ready' && worker.pid !== before;
    }, 30_000);
    expect(replaced).toBe(true);
    expect(await pool.execute('add', { a: 2, b: 2 })).toBe(4);
    expect(await pool.executeInSession('only', 'state_set', { key: 'k', value: 1 })).toBe(true);
  });
});

describe('heartbeats', () => {
  const fast = { intervalMs: 200, timeoutMs: 300, maxMissed: 3 };

  it('replaces a worker whose event loop is wedged and fails its call with a typed error', async () => {
    const pool = await readyPool({ heartbeat: fast, timeoutMs: 20_000 });
    const before = pool.listWorkers()[0]!.pid!;
    const startedAt = Date.now();
    const error = await failureOf(pool.execute('wedge', { seconds: 30 }));
    expect(['worker_unresponsive', 'worker_exit']).toContain(error.code);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    const replaced = await waitUntil(() => {
      const [worker] = pool.listWorkers();
      return worker !== undefined && worker.state === 'ready' && worker.pid !== before;
    }, 30_000);
    expect(replaced).toBe(true);
    expect(isAlive(before)).toBe(false);
    expect(await pool.execute('add', { a: 1, b: 1 })).toBe(2);
  });

  it('never mistakes a long synchronous tool for a hung worker', async () => {
    const pool = await readyPool({ heartbeat: fast });
    const before = pool.listWorkers()[0]!.pid!;
    expect(await pool.execute('sleep_sync', { ms: 2500 })).toEqual({ slept_ms: 2500 });
    expect(pool.listWorkers()[0]!.pid).toBe(before);
    expect(pool.stats().counters.restarts).toBe(0);
  });
});
