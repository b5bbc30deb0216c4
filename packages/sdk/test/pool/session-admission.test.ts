import { afterAll, describe, expect, it } from 'vitest';
import { createMemorySessionStore, createPool, type SessionStore } from '../../src/index.js';
import { createInMemoryAdapter } from '../../src/testing/index.js';
import { failureOf } from '../../src/testing/failure-of.js';

describe('a session call while its store does not answer', () => {
  const memory = createMemorySessionStore();
  // A store whose create never settles, like a shared store cut off from its server.
  const stuck: SessionStore = Object.assign(Object.create(memory) as SessionStore, { create: () => new Promise<never>(() => {}) });
  const adapter = createInMemoryAdapter({ tools: { echo: (args) => args } });
  const pool = createPool({ adapter, size: 1, sessionStore: stuck });
  afterAll(async () => {
    await pool.close();
    await memory.close();
  });

  it('fails at its own deadline, which covers creating the session', async () => {
    const started = performance.now();
    const error = await failureOf(pool.executeInSession('s1', 'echo', {}, { timeoutMs: 150 }));
    expect(error.code).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(adapter.callCount('echo')).toBe(0);
  });

  it('can be aborted while it waits for the store, and session-less calls go on', async () => {
    const controller = new AbortController();
    const pending = failureOf(pool.executeInSession('s2', 'echo', {}, { signal: controller.signal }));
    controller.abort();
    expect((await pending).code).toBe('aborted');
    expect(await pool.execute('echo', { x: 1 })).toEqual({ x: 1 });
  });
});
