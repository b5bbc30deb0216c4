import { describe, expect, it } from 'vitest';
import { createRedactor, redact } from '../src/redact.js';

const mask = '[REDACTED]';

describe('redact', () => {
  it('masks each sensitive key family and keeps the rest', () => {
    const input = {
      user: 'ada',
      password: 'p1',
      passwd: 'p2',
      secret: 's',
      token: 't',
      api_key: 'k1',
      apikey: 'k2',
      access_key: 'k3',
      authorization: 'Basic abc',
      auth: 'a',
      cookie: 'c',
      'set-cookie': 'c2',
      session: 'sess',
      private_key: 'pk',
      credentials: { user: 'u', pass: 'p' },
      client_secret: 'cs',
      refresh_token: 'rt',
      access_token: 'at',
      bearer: 'b',
      count: 3,
    };
    const output = redact(input) as Record<string, unknown>;
    for (const key of Object.keys(input)) {
      const expected = key === 'user' ? 'ada' : key === 'count' ? 3 : mask;
      expect(output[key], key).toEqual(expected);
    }
  });

  it('masks at any depth, inside arrays too', () => {
    const input = {
      request: { headers: { Authorization: 'Bearer x', accept: 'json' } },
      users: [{ name: 'a', password: 'p' }, [{ apiKey: 'k', id: 7 }]],
    };
    expect(redact(input)).toEqual({
      request: { headers: { Authorization: mask, accept: 'json' } },
      users: [{ name: 'a', password: mask }, [{ apiKey: mask, id: 7 }]],
    });
  });

  it('matches case and separator variants', () => {
    const input = { 'API-Key': 1, apiKey: 2, X_API_KEY: 3, user_password: 4, 'db.password': 5 };
    expect(Object.values(redact(input) as object)).toEqual([mask, mask, mask, mask, mask]);
  });

  it('keeps null and undefined under sensitive keys visible', () => {
    expect(redact({ token: null, password: undefined })).toEqual({ token: null, password: undefined });
  });

  it('uses custom keys, key patterns and masks', () => {
    const options = { sensitiveKeys: ['ssn'], keyPattern: /^internal/, mask: '***' };
    expect(redact({ user_ssn: '1', internalRoute: '/x', password: 'p', ok: 1 }, options)).toEqual({
      user_ssn: '***',
      internalRoute: '***',
      password: '***',
      ok: 1,
    });
  });

  it('marks cycles but copies shared references', () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { a: shared, b: shared };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ a: { n: 1 }, b: { n: 1 }, self: '[circular]' });
  });

  it('bounds depth', () => {
    let nested: Record<string, unknown> = { leaf: true };
    for (let level = 0; level < 10; level += 1) nested = { next: nested };
    let output = redact(nested) as Record<string, unknown>;
    for (let level = 0; level < 8; level += 1) output = output.next as Record<string, unknown>;
    expect(output).toBe('[depth limit]');
    expect(redact({ a: { b: 1 } }, { maxDepth: 1 })).toEqual({ a: '[depth limit]' });
  });

  it('bounds size, keeping the first items and counting the rest', () => {
    const list = Array.from({ length: 60 }, (_, index) => index);
    const output = redact(list) as unknown[];
    expect(output).toHaveLength(51);
    expect(output[49]).toBe(49);
    expect(output[50]).toBe('[... 10 more items]');
    const object = Object.fromEntries(list.map((index) => [`k${index}`, index]));
    const redactedObject = redact(object, { maxItems: 3 });
    expect(redactedObject).toEqual({ k0: 0, k1: 1, k2: 2, '...': '[57 more keys]' });
  });

  it('summarises long strings and byte arrays', () => {
    const long = 'a'.repeat(5000);
    expect(redact(long)).toBe(`${'a'.repeat(256)}... [string len: 5000]`);
    expect(redact({ blob: Buffer.alloc(1024), view: new Uint8Array(3) })).toEqual({
      blob: '[bytes len: 1024]',
      view: '[bytes len: 3]',
    });
  });

  it('scrubs secrets that straddle the cut of a long string', () => {
    const token = `ghp_${'A1'.repeat(18)}`;
    const text = `${'x'.repeat(250)} ${token} ${'y'.repeat(500)}`;
    const output = redact(text) as string;
    expect(output).not.toContain('A1A1');
    // The cut falls inside the mask, never inside the token.
    const expected = `${'x'.repeat(250)} ghp_[... [string len: ${text.length}]`;
    expect(output).toBe(expected);
  });

  it('scrubs secrets inside ordinary strings unless told not to', () => {
    const input = { note: 'connect with password=hunter2', url: 'postgres://u:pw@db/app' };
    expect(redact(input)).toEqual({
      note: `connect with password=${mask}`,
      url: `postgres://u:${mask}@db/app`,
    });
    expect(redact(input, { scrubStrings: false })).toEqual(input);
  });

  it('turns Map, Set, Date, Error, bigint and functions into loggable data', () => {
    const error = new TypeError('bad token=abc123def456');
    Object.assign(error, { code: 'E_AUTH', apiKey: 'k' });
    const input = {
      map: new Map<unknown, unknown>([
        ['password', 'p'],
        [1, 'one'],
        [{ id: 1 }, 'object key'],
      ]),
      set: new Set(['a', 'token=abcdef123456']),
      date: new Date(0),
      error,
      big: 10n,
      callback: () => 1,
    };
    expect(redact(input)).toEqual({
      map: { password: mask, 1: 'one', 'object(keys: ["id"], count: 1)': 'object key' },
      set: ['a', `token=${mask}`],
      date: '1970-01-01T00:00:00.000Z',
      error: { name: 'TypeError', message: `bad token=${mask}`, code: 'E_AUTH', apiKey: mask },
      big: '10',
      callback: '[function]',
    });
  });

  it('keeps a scrubbed stack and the cause of errors when asked', () => {
    const cause = new Error('inner password=x');
    const error = new Error('outer', { cause });
    const output = redact(error, { includeErrorStack: true }) as Record<string, unknown>;
    expect(output.stack).toContain('Error: outer');
    expect((output.cause as Record<string, unknown>).message).toBe(`inner password=${mask}`);
    expect(redact(error)).not.toHaveProperty('stack');
  });

  it('never mutates the input', () => {
    const input = { password: 'p', nested: { token: 't', list: [{ secret: 's' }] } };
    const before = structuredClone(input);
    redact(input);
    expect(input).toEqual(before);
  });

  it('survives throwing getters and __proto__ keys', () => {
    const hostile = Object.defineProperty({ ok: 1 }, 'bad', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    expect(redact(hostile)).toEqual({ ok: 1, bad: '[unreadable]' });
    const parsed = JSON.parse('{"__proto__": {"polluted": true}}') as object;
    const output = redact(parsed) as Record<string, unknown>;
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(Object.keys(output)).toEqual(['__proto__']);
    const throwKeys = (): never => {
      throw new Error('no');
    };
    const proxy = new Proxy({}, { ownKeys: throwKeys });
    expect(redact({ ok: 1, proxy })).toEqual({ ok: 1, proxy: '[unreadable]' });
  });

  it('compiles once with createRedactor', () => {
    const redactValue = createRedactor({ mask: '<hidden>' });
    expect(redactValue({ token: 'x' })).toEqual({ token: '<hidden>' });
    expect(redactValue('plain')).toBe('plain');
  });
});
