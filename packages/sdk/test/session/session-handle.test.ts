import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SnakepitError } from '../../src/errors.js';
import { createMemorySessionStore } from '../../src/session/memory-session-store.js';
import { createSessionHandle } from '../../src/session/session-handle.js';

const store = createMemorySessionStore({ sweepIntervalMs: 0 });
afterAll(() => store.close());
afterEach(async () => {
  for (const session of await store.list({ includeInternal: true })) await store.delete(session.id);
});

describe('createSessionHandle', () => {
  it('binds a session id to the store', async () => {
    const session = createSessionHandle(store, 'user-1');
    expect(await session.info()).toBeUndefined();
    await session.create({ metadata: { plan: 'pro' } });
    await session.setState('cart', ['apple']);
    expect(await session.getState('cart')).toEqual(['apple']);
    expect(await store.getState('user-1', 'cart')).toEqual(['apple']);
    expect(await session.deleteState('cart')).toBe(true);
    expect((await session.touch())?.metadata).toEqual({ plan: 'pro' });
    expect(await session.delete()).toBe(true);
    expect(await session.info()).toBeUndefined();
  });

  it('refuses an invalid id at once', () => {
    expect(() => createSessionHandle(store, '')).toThrow(SnakepitError);
  });
});
