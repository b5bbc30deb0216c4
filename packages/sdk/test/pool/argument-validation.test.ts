import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/index.js';
import { checkArguments, type ArgumentSchemas } from '../../src/pool/argument-validation.js';
import { createInMemoryAdapter } from '../../src/testing/index.js';
import { failureOf } from '../../src/testing/failure-of.js';

/** Shaped like what Python workers describe (snakepit_bridge README, "Tool schemas"). */
const schemas: ArgumentSchemas = {
  add: {
    type: 'object',
    properties: { a: { type: 'number' }, b: { type: 'number', default: 1 } },
    required: ['a'],
    additionalProperties: false,
  },
  embed: {
    $defs: {
      Options: {
        type: 'object',
        properties: { model: { enum: ['small', 'large'] }, dims: { anyOf: [{ type: 'integer' }, { type: 'null' }] } },
        required: ['model'],
        additionalProperties: false,
      },
    },
    type: 'object',
    properties: {
      texts: { type: 'array', items: { type: 'string' } },
      options: { $ref: '#/$defs/Options' },
      blob: { 'x-snakepit-type': 'bytes' },
      pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false },
    },
    required: ['texts'],
    additionalProperties: false,
    'x-snakepit': { version: 1, result: { type: 'array' } },
  },
  loose: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
};

function refusal(tool: string, args: Record<string, unknown>): { key: unknown; reason: unknown } | undefined {
  try {
    checkArguments(schemas, tool, args);
    return undefined;
  } catch (error) {
    const { details } = error as { details: { key: unknown; reason: unknown } };
    return { key: details.key, reason: details.reason };
  }
}

describe('checkArguments', () => {
  it('accepts arguments that match, and tools it has no schema for', () => {
    expect(refusal('add', { a: 1.5 })).toBeUndefined();
    expect(refusal('add', { a: 1, b: 2 })).toBeUndefined();
    expect(refusal('embed', { texts: ['x'], options: { model: 'small', dims: null }, blob: new Uint8Array([1]), pair: ['a', 1] })).toBeUndefined();
    expect(refusal('loose', { anything: 'goes' })).toBeUndefined();
    expect(refusal('not_described', { whatever: 1 })).toBeUndefined();
  });

  it('names the key and the reason of the first mismatch', () => {
    expect(refusal('add', {})).toEqual({ key: 'a', reason: 'is required' });
    expect(refusal('add', { a: 'one' })).toEqual({ key: 'a', reason: 'must be number, got a string' });
    expect(refusal('add', { a: 1, c: 2 })).toEqual({ key: 'c', reason: 'is not a parameter of this tool' });
    expect(refusal('embed', { texts: ['x', 2] })).toEqual({ key: 'texts[1]', reason: 'must be string, got the integer 2' });
    expect(refusal('embed', { texts: [], options: { model: 'huge' } })).toEqual({ key: 'options.model', reason: 'must be one of "small", "large"' });
    expect(refusal('embed', { texts: [], options: { model: 'small', dims: 1.5 } })).toMatchObject({ key: 'options.dims' });
    expect(refusal('embed', { texts: [], options: {} })).toEqual({ key: 'options.model', reason: 'is required' });
    expect(refusal('embed', { texts: [], blob: 'AAEC' })).toEqual({ key: 'blob', reason: 'must be bytes (a Uint8Array), got a string' });
    expect(refusal('embed', { texts: [], pair: ['a', 1, 2] })).toEqual({ key: 'pair', reason: 'must have at most 2 items' });
    expect(refusal('loose', { n: 1 })).toEqual({ key: 'n', reason: 'must be string, got the integer 1' });
  });
});

describe('the argumentSchemas pool option', () => {
  const adapter = createInMemoryAdapter({ tools: { add: ({ a, b }) => Number(a) + Number(b ?? 1) } });
  const pool = createPool({ adapter, size: 1, argumentSchemas: schemas });
  afterAll(() => pool.close());

  it('refuses a call before it is sent, and sends the ones that match', async () => {
    const error = await failureOf(pool.execute('add', { a: 'one' }));
    expect(error).toMatchObject({ code: 'invalid_parameter', details: { key: 'a' } });
    const stream = await failureOf((async () => {
      for await (const chunk of pool.executeStream('add', { a: 1, z: 1 })) void chunk;
    })());
    expect(stream.details).toMatchObject({ key: 'z' });
    expect(adapter.callCount('add')).toBe(0);
    expect(await pool.execute('add', { a: 2, b: 3 })).toBe(5);
    expect(adapter.callCount('add')).toBe(1);
  });

  it('is validated itself', () => {
    expect(() => createPool({ adapter, argumentSchemas: [] as never })).toThrow(/argumentSchemas/);
    expect(() => createPool({ adapter, argumentSchemas: { add: 'x' } as never })).toThrow(/argumentSchemas\.add/);
  });
});
