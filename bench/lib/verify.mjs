/** Answer checks: a broken path must fail the run, never post a fast number. */
import { isDeepStrictEqual } from 'node:util';

export function expectEqual(actual, expected, what) {
  // Deep equality, not JSON text: the pool carries arguments as a map, so key order may change.
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`wrong answer for ${what}: ${JSON.stringify(actual)?.slice(0, 200)}`);
  }
}

export function expectSameBytes(actual, expected, what) {
  if (!(actual instanceof Uint8Array) || !Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)) {
    throw new Error(`wrong bytes for ${what}: got ${actual?.byteLength ?? typeof actual} bytes, expected ${expected.byteLength}`);
  }
}
