/**
 * Exponential restart backoff with jitter. Each worker seat has its own, so one worker that keeps
 * crashing slows only its own restarts, and a worker that stayed up long enough starts over fresh.
 */
import type { RestartBackoffOptions } from '../pool/options.js';

export class Backoff {
  private consecutiveFailures = 0;

  constructor(
    private readonly settings: RestartBackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** How many delays were handed out since the last reset. */
  get failures(): number {
    return this.consecutiveFailures;
  }

  /** The delay before the next attempt; each call grows the following one. */
  next(): number {
    const { initialMs, maxMs, multiplier, jitter } = this.settings;
    const base = Math.min(maxMs, initialMs * multiplier ** this.consecutiveFailures);
    // Stop growing the exponent once capped, so it can never overflow to Infinity * 0 = NaN.
    if (base < maxMs) this.consecutiveFailures += 1;
    else this.consecutiveFailures = Math.max(this.consecutiveFailures, 1);
    const spread = base * jitter * (this.random() * 2 - 1);
    return Math.round(Math.min(maxMs, Math.max(0, base + spread)));
  }

  reset(): void {
    this.consecutiveFailures = 0;
  }
}
