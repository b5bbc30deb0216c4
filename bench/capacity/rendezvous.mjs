/**
 * Rendezvous (highest random weight) hashing: a session's worker is the endpoint whose hash with
 * the session id scores highest, so every Node replica that knows the same endpoints picks the same
 * worker without talking to the others, and when one endpoint goes only its sessions move (to the
 * next in rank). The hash is FNV-1a over the UTF-16 code units of `session|endpoint`, finished with
 * murmur3's avalanche; equal weights (every endpoint here has the same capacity).
 */

export function hash32(text) {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** Endpoint indices in rank order for `sessionId` (first: the session's worker). */
export function rank(sessionId, endpointIds) {
  return endpointIds
    .map((id, index) => ({ index, score: hash32(`${sessionId}|${id}`) }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .map((entry) => entry.index);
}

/** The first in rank, without sorting. */
export function owner(sessionId, endpointIds) {
  let best = -1;
  let bestScore = -1;
  for (let index = 0; index < endpointIds.length; index += 1) {
    const score = hash32(`${sessionId}|${endpointIds[index]}`);
    if (score > bestScore) {
      best = index;
      bestScore = score;
    }
  }
  return best;
}

/** Remembers each session's owner (sessions recur, hashing them again each call would dominate the run). */
export function createOwnerTable(endpointIds) {
  const owners = new Map();
  return (sessionId) => {
    let index = owners.get(sessionId);
    if (index === undefined) {
      index = owner(sessionId, endpointIds);
      owners.set(sessionId, index);
    }
    return index;
  };
}

/**
 * How session traffic spreads over endpoints: each endpoint's share of session calls, given each
 * session's probability. `maxOverMean` is the hottest endpoint's share × the number of endpoints
 * (1: perfectly even; with S sessions uniform over E endpoints it grows like 1 + sqrt(2·E·ln E / S)).
 */
export function spreadOf(sessionIds, probabilities, endpointIds) {
  const shares = new Float64Array(endpointIds.length);
  sessionIds.forEach((sessionId, index) => {
    shares[owner(sessionId, endpointIds)] += probabilities[index];
  });
  const max = Math.max(...shares);
  const empty = shares.filter((share) => share === 0).length;
  return { shares: [...shares], max, maxOverMean: max * endpointIds.length, emptyEndpoints: empty };
}
