import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/workers/restart-backoff.js';
import { defaultRestartBackoff } from '../../src/pool/options.js';

describe('Backoff', () => {
  it('grows by the multiplier up to the cap', () => {
    const backoff = new Backoff({ ...defaultRestartBackoff, jitter: 0 });
    const delays = Array.from({ length: 10 }, () => backoff.next());
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000, 10_000]);
  });

  it('starts over after reset', () => {
    const backoff = new Backoff({ ...defaultRestartBackoff, jitter: 0 });
    backoff.next();
    backoff.next();
    expect(backoff.failures).toBe(2);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it('spreads delays by the jitter fraction and never exceeds the cap', () => {
    const low = new Backoff({ ...defaultRestartBackoff, jitter: 0.2 }, () => 0);
    const high = new Backoff({ ...defaultRestartBackoff, jitter: 0.2 }, () => 0.999_999);
    expect(low.next()).toBe(80);
    expect(high.next()).toBe(120);
    for (let attempt = 0; attempt < 20; attempt += 1) expect(high.next()).toBeLessThanOrEqual(10_000);
  });

  it('stays finite after very many failures', () => {
    const backoff = new Backoff({ ...defaultRestartBackoff, multiplier: 10, jitter: 0.5 });
    for (let attempt = 0; attempt < 5_000; attempt += 1) {
      const delay = backoff.next();
      expect(Number.isFinite(delay)).toBe(true);
      expect(delay).toBeLessThanOrEqual(10_000);
    }
  });
});
