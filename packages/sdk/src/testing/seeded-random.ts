/**
 * A tiny deterministic random source (mulberry32) for fuzz tests: the same seed yields the same
 * cases on every run and machine, so any failure replays exactly.
 */

export interface SeededRandom {
  /** A float in [0, 1). */
  next(): number;
  /** A whole number from `low` to `high`, both included. */
  integer(low: number, high: number): number;
  /** One of `items` (which must not be empty). */
  pick<T>(items: readonly T[]): T;
  /** `length` (default 1 to 12) lowercase ASCII letters and digits. */
  word(length?: number): string;
  /** True half of the time. */
  coin(): boolean;
}

const wordCharacters = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  const integer = (low: number, high: number) => low + Math.floor(next() * (high - low + 1));
  const pick = <T>(items: readonly T[]): T => items[integer(0, items.length - 1)]!;
  const word = (length = integer(1, 12)) => Array.from({ length }, () => pick(wordCharacters)).join('');
  return { next, integer, pick, word, coin: () => next() < 0.5 };
}
