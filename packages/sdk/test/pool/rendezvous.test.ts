import { describe, expect, it } from 'vitest';
import { rendezvousKeyHash, rendezvousOwner, rendezvousScore, type RendezvousCandidate } from '../../src/pool/rendezvous.js';

function candidate(key: string): RendezvousCandidate {
  return { rendezvousKey: key, rendezvousKeyHash: rendezvousKeyHash(key) };
}

function ownerKey(sessionId: string, keys: readonly string[]): string | undefined {
  return rendezvousOwner(sessionId, keys.map(candidate))?.rendezvousKey;
}

/** The keys in the order of their scores for `sessionId`, best first (ties to the smaller key). */
function ranking(sessionId: string, keys: readonly string[]): string[] {
  const scores = new Map(keys.map((key) => [key, rendezvousScore(rendezvousKeyHash(key), sessionId)]));
  return [...keys].sort((a, b) => scores.get(b)! - scores.get(a)! || (a < b ? -1 : 1));
}

const sessionIds = Array.from({ length: 10_000 }, (_, index) => `session-${index}`);
const fleet = ['10.0.0.1:50051', '10.0.0.2:50051', '10.0.0.3:50051', '10.0.0.4:50051', '10.0.0.5:50051'];

/** Deterministic shuffles of `keys` (no Math.random: a failure must reproduce). */
function permutations(keys: readonly string[]): string[][] {
  const orders: string[][] = [[...keys], [...keys].reverse()];
  for (let shift = 1; shift < keys.length; shift += 1) orders.push([...keys.slice(shift), ...keys.slice(0, shift)]);
  return orders;
}

describe('rendezvous hashing', () => {
  it('has no owner without candidates', () => {
    expect(rendezvousOwner('s', [])).toBeUndefined();
  });

  it('picks the same owner for the same keys whatever their order', () => {
    for (const sessionId of sessionIds.slice(0, 500)) {
      const owners = new Set(permutations(fleet).map((order) => ownerKey(sessionId, order)));
      expect(owners.size).toBe(1);
      // The owner is the candidate with the highest score.
      expect([...owners][0]).toBe(ranking(sessionId, fleet)[0]);
    }
  });

  it('takes any iterable of candidates and returns the candidate object itself', () => {
    const candidates = fleet.map(candidate);
    const fromSet = rendezvousOwner('s-1', new Set(candidates));
    expect(candidates).toContain(fromSet);
    expect(rendezvousOwner('s-1', candidates)).toBe(fromSet);
  });

  it('gives every key a fair share of 10 000 sessions', () => {
    const counts = new Map(fleet.map((key) => [key, 0]));
    for (const sessionId of sessionIds) {
      const owner = ownerKey(sessionId, fleet)!;
      counts.set(owner, counts.get(owner)! + 1);
    }
    for (const [, count] of counts) {
      // 20 % each on average; the band is over 8 standard deviations wide.
      expect(count).toBeGreaterThanOrEqual(1_500);
      expect(count).toBeLessThanOrEqual(2_500);
    }
  });

  it('spreads similar-looking keys and ids too (two keys, sequential ids)', () => {
    const keys = ['w1', 'w2'];
    let first = 0;
    for (const sessionId of sessionIds) if (ownerKey(sessionId, keys) === 'w1') first += 1;
    expect(first).toBeGreaterThan(4_500);
    expect(first).toBeLessThan(5_500);
  });

  it('moves only the sessions of a removed key, each to the key that ranked second', () => {
    const removed = fleet[2]!;
    const remaining = fleet.filter((key) => key !== removed);
    let moved = 0;
    for (const sessionId of sessionIds) {
      const before = ownerKey(sessionId, fleet)!;
      const after = ownerKey(sessionId, remaining)!;
      if (before === removed) {
        moved += 1;
        expect(after).toBe(ranking(sessionId, fleet)[1]);
      } else {
        expect(after).toBe(before);
      }
    }
    expect(moved).toBeGreaterThan(1_500);
  });

  it('moves sessions only to an added key', () => {
    const added = '10.0.0.6:50051';
    const grown = [...fleet, added];
    let moved = 0;
    for (const sessionId of sessionIds) {
      const before = ownerKey(sessionId, fleet)!;
      const after = ownerKey(sessionId, grown)!;
      if (after !== before) {
        moved += 1;
        expect(after).toBe(added);
      }
    }
    // About a sixth of the sessions move to the new key.
    expect(moved).toBeGreaterThan(1_300);
    expect(moved).toBeLessThan(2_100);
  });

  it('breaks a tie in score to the smaller key, whatever the order', () => {
    // Two candidates with the same key hash score the same for every session.
    const hash = rendezvousKeyHash('shared');
    const a = { rendezvousKey: 'a', rendezvousKeyHash: hash };
    const b = { rendezvousKey: 'b', rendezvousKeyHash: hash };
    expect(rendezvousOwner('s', [a, b])).toBe(a);
    expect(rendezvousOwner('s', [b, a])).toBe(a);
  });

  it('keeps the hash function fixed (placement must agree across versions and processes)', () => {
    // FNV-1a over UTF-16 code units of key + "\n" + sessionId, then murmur3's fmix32. Computed
    // once, and checked against an independent implementation of that definition.
    expect(rendezvousKeyHash('')).toBe(252_472_541);
    expect(rendezvousKeyHash('10.0.0.1:50051')).toBe(1_255_933_840);
    const keys = ['10.0.0.1:50051', '10.0.0.2:50051', '10.0.0.3:50051', 'worker-a', 'worker-b'];
    const scores = (sessionId: string) => keys.map((key) => rendezvousScore(rendezvousKeyHash(key), sessionId));
    expect(scores('session-1')).toEqual([319_041_045, 533_757_280, 3_007_734_132, 2_145_848_013, 1_279_296_228]);
    expect(scores('ünïcødé-☃')).toEqual([477_904_228, 721_338_787, 1_262_425_748, 958_376_682, 2_640_684_417]);
    expect(scores('cart/9f8e7d')).toEqual([3_407_973_318, 4_103_639_901, 911_614_340, 54_342_460, 1_564_405_039]);
    expect(scores('')).toEqual([1_458_680_479, 2_579_626_514, 475_145_850, 3_784_386_332, 763_604_230]);
    const owners = Object.fromEntries(
      ['session-1', 'session-2', 'user:42', 'a', '', 'ünïcødé-☃', 'cart/9f8e7d'].map((sessionId) => [sessionId, ownerKey(sessionId, keys)]),
    );
    expect(owners).toEqual({
      'session-1': '10.0.0.3:50051',
      'session-2': '10.0.0.3:50051',
      'user:42': '10.0.0.3:50051',
      a: 'worker-a',
      '': 'worker-a',
      'ünïcødé-☃': 'worker-b',
      'cart/9f8e7d': '10.0.0.2:50051',
    });
  });

  it('scores are unsigned 32-bit integers', () => {
    for (const sessionId of sessionIds.slice(0, 1_000)) {
      const score = rendezvousScore(rendezvousKeyHash('k'), sessionId);
      expect(Number.isInteger(score)).toBe(true);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThan(2 ** 32);
    }
  });
});
