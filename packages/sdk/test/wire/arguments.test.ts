import { describe, expect, it } from 'vitest';
import { SnakepitError } from '../../src/errors.js';
import { decodeArguments, encodeArguments } from '../../src/wire/arguments.js';

const secret = 'hunter2-secret';

function refusal(args: Record<string, unknown>): SnakepitError {
  try {
    encodeArguments(args);
  } catch (error) {
    if (SnakepitError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('encodeArguments', () => {
  it('round-trips JSON and keeps top-level bytes raw', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(decodeArguments(encodeArguments({ a: { b: [1, null, 'x'] }, data: bytes }))).toEqual({ a: { b: [1, null, 'x'] }, data: bytes });
  });

  it('names the key and the reason of a refusal, never the value', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ password: { nested: [secret, 10n] } }, 'password'],
      [{ token: { toJSON: () => { throw new Error(`cannot encode ${secret}`); } } }, 'token'],
      [{ credentials: new Map([[secret, secret]]) }, 'credentials'],
      [{ api_key: { value: secret, fn: () => secret } }, 'api_key'],
    ];
    for (const [args, key] of cases) {
      const error = refusal(args);
      expect(error.code).toBe('invalid_parameter');
      expect(error.details.key).toBe(key);
      expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(secret);
    }
  });
});
