/**
 * Rendezvous (highest-random-weight) hashing: a session belongs to the candidate whose key scores
 * highest for the session id. Every process that sees the same keys picks the same owner with no
 * coordination, and when a candidate leaves only the sessions it owned move (each to its next in
 * rank). Used for seats a v2 adapter names, so every Node process sends a session's calls to the
 * same remote worker.
 *
 * The score is FNV-1a over `key + "\n" + sessionId` (UTF-16 code units), finished with murmur3's
 * avalanche step; the key's part of the hash is computed once per key. The same function in every
 * version of this package keeps placement stable across rolling upgrades: do not change it.
 */

const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;

function fnv1a(state: number, text: string): number {
  let hash = state;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, fnvPrime);
  }
  return hash;
}

function avalanche(hash: number): number {
  let mixed = hash ^ (hash >>> 16);
  mixed = Math.imul(mixed, 0x85ebca6b);
  mixed ^= mixed >>> 13;
  mixed = Math.imul(mixed, 0xc2b2ae35);
  mixed ^= mixed >>> 16;
  return mixed >>> 0;
}

/** The key's share of every score, computed once per key. */
export function rendezvousKeyHash(key: string): number {
  return fnv1a(fnv1a(fnvOffset, key), '\n');
}

export function rendezvousScore(keyHash: number, sessionId: string): number {
  return avalanche(fnv1a(keyHash, sessionId));
}

export interface RendezvousCandidate {
  readonly rendezvousKey: string;
  readonly rendezvousKeyHash: number;
}

/** The candidate that owns `sessionId`: the highest score, ties to the smaller key. */
export function rendezvousOwner<C extends RendezvousCandidate>(sessionId: string, candidates: Iterable<C>): C | undefined {
  let best: C | undefined;
  let bestScore = -1;
  for (const candidate of candidates) {
    const score = rendezvousScore(candidate.rendezvousKeyHash, sessionId);
    if (score > bestScore || (score === bestScore && best !== undefined && candidate.rendezvousKey < best.rendezvousKey)) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
