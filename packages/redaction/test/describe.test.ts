import { describe as group, expect, it } from 'vitest';
import { describe } from '../src/describe.js';

class Widget {
  constructor(public secret = 'hidden') {}
}

group('describe', () => {
  it('gives the exact forms the issue specifies', () => {
    expect(describe({ api_key: 'super_secret' })).toBe('object(keys: ["api_key"], count: 1)');
    expect(describe(['token', { foo: 'bar' }, 42])).toBe(
      'array(len: 3, sample_types: string,object,number)',
    );
    expect(describe('very secret')).toBe('string(len: 11)');
  });

  it('lists at most five keys and counts them all', () => {
    const object = { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 };
    expect(describe(object)).toBe('object(keys: ["a","b","c","d","e"], count: 7)');
  });

  it('cuts keys longer than 32 characters and JSON-quotes them after cutting', () => {
    const longKey = 'k'.repeat(40);
    expect(describe({ [longKey]: 1 })).toBe(`object(keys: ["${'k'.repeat(32)}..."], count: 1)`);
    expect(describe({ 'say "hi"': 1 })).toBe('object(keys: ["say \\"hi\\""], count: 1)');
  });

  it('samples the types of the first five elements only', () => {
    const array = [null, undefined, true, 1n, [1], new Uint8Array(2), new Date(0), 'x'];
    expect(describe(array)).toBe('array(len: 8, sample_types: null,undefined,boolean,bigint,array)');
    expect(describe([new Date(0), new Widget(), new Uint8Array(1)])).toBe(
      'array(len: 3, sample_types: Date,Widget,bytes)',
    );
    expect(describe([])).toBe('array(len: 0)');
  });

  it('gives lengths of byte containers', () => {
    expect(describe(new Uint8Array(16))).toBe('bytes(len: 16)');
    expect(describe(Buffer.from('secret bytes'))).toBe('bytes(len: 12)');
    expect(describe(new ArrayBuffer(8))).toBe('bytes(len: 8)');
    expect(describe(new Float64Array(2))).toBe('bytes(len: 16)');
  });

  it('names class instances, errors and collections without their contents', () => {
    expect(describe(new Widget())).toBe('instance(Widget)');
    expect(describe(new Date())).toBe('instance(Date)');
    expect(describe(new TypeError('password=hunter2'))).toBe('error(TypeError)');
    expect(describe(new Map([['token', 'x']]))).toBe('Map(size: 1)');
    expect(describe(new Set(['a', 'b']))).toBe('Set(size: 2)');
    expect(describe(Object.create(null))).toBe('object(keys: [], count: 0)');
  });

  it('prints numbers, booleans, null and undefined as themselves', () => {
    expect(describe(42)).toBe('42');
    expect(describe(-1.5)).toBe('-1.5');
    expect(describe(Number.NaN)).toBe('NaN');
    expect(describe(true)).toBe('true');
    expect(describe(null)).toBe('null');
    expect(describe(undefined)).toBe('undefined');
  });

  it('never prints bigint, symbol or function values', () => {
    expect(describe(123456789n)).toBe('bigint');
    expect(describe(Symbol('secret'))).toBe('symbol');
    expect(describe(() => 'secret')).toBe('function');
  });

  it('is safe on cyclic values', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(describe(cyclic)).toBe('object(keys: ["name","self"], count: 2)');
    const list: unknown[] = [];
    list.push(list);
    expect(describe(list)).toBe('array(len: 1, sample_types: array)');
  });

  it('does not throw on hostile values', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no');
        },
      },
    );
    expect(describe(hostile)).toBe('unknown');
  });

  it('never contains the values it describes', () => {
    const secret = 'hunter2-do-not-print';
    const values: unknown[] = [
      { password: secret },
      [secret],
      secret,
      new Map([[secret, secret]]),
      new Error(secret),
    ];
    for (const value of values) expect(describe(value)).not.toContain(secret);
  });
});
