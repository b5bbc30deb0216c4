/**
 * The tiny call of the sequential and in-flight scenarios: `echo` of a small JSON object for the
 * pool and python-shell; for a floor, the same object's JSON text as one opaque message.
 */
import { expectEqual, expectSameBytes } from './verify.mjs';

export const tinyPayload = { text: 'hello', n: 42, items: [1, 2, 3], nested: { ok: true, ratio: 0.5 } };
const tinyMessage = Buffer.from(JSON.stringify(tinyPayload));

/** A function making one verified tiny call on an opened peer. */
export function tinyCall(peer, opened) {
  if (peer.kind === 'floor') return async () => expectSameBytes(await opened.exchange(tinyMessage), tinyMessage, 'tiny message');
  return async () => expectEqual(await opened.call('echo', tinyPayload), tinyPayload, 'echo');
}
