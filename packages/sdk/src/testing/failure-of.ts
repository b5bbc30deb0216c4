/** Awaiting a call that must fail, for tests that then assert on the error. */
import { SnakepitError } from '../errors.js';

/**
 * Resolves with the `SnakepitError` that `promise` rejects with. Rejects (failing the test) when
 * `promise` resolves, or rejects with anything that is not a `SnakepitError`.
 */
export async function failureOf(promise: Promise<unknown>): Promise<SnakepitError> {
  try {
    await promise;
  } catch (error) {
    if (SnakepitError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
