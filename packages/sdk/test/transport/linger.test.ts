import { describe, expect, it } from 'vitest';
import { fastWaitMs, LingerPolicy, lingerBudgetMs } from '../../src/transport/linger.js';

/** A policy on a hand-driven clock; `waits` runs one wait per entry, each lasting that many ms. */
function policy() {
  let now = 0;
  const linger = new LingerPolicy(() => now);
  const decisions: boolean[] = [];
  return {
    linger,
    decisions,
    waits(...durations: number[]) {
      for (const duration of durations) {
        linger.wait();
        decisions.push(linger.lingering);
        now += duration;
        linger.settle(true);
      }
    },
  };
}

const hit = lingerBudgetMs / 2;
const miss = lingerBudgetMs * 2;
const slow = fastWaitMs * 4;

describe('LingerPolicy', () => {
  it('never spins for the first message, nor for a slow stream', () => {
    const { waits, decisions } = policy();
    waits(slow, slow, slow, slow);
    expect(decisions).toEqual([false, false, false, false]);
  });

  it('lingers once messages come close together, and keeps on while they keep coming', () => {
    const { waits, decisions } = policy();
    waits(miss, hit, hit, hit);
    expect(decisions).toEqual([false, true, true, true]);
  });

  it('backs off exponentially after lingers that missed in a row', () => {
    const { waits, decisions } = policy();
    // fast stream, then a miss (skip 2 waits), another miss (skip 4), then a hit resets the count
    waits(hit, miss, hit, hit, miss, hit, hit, hit, hit, hit, hit, miss, hit, hit, hit);
    expect(decisions).toEqual([false, true, false, false, true, false, false, false, false, true, true, true, false, false, true]);
  });

  it('stops lingering when the stream turns slow, and starts again when it speeds up', () => {
    const { waits, decisions } = policy();
    waits(hit, slow, slow, slow, slow, hit, hit);
    // the slow wait after the miss is seen unlingered and ends the fast state
    expect(decisions).toEqual([false, true, false, false, false, false, true]);
  });

  it('releases the event loop when the call ends while lingering', () => {
    const { waits, linger } = policy();
    waits(hit);
    linger.wait();
    expect(linger.lingering).toBe(true);
    linger.settle(false);
    expect(linger.lingering).toBe(false);
  });
});
