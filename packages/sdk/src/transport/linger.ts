/**
 * Spin-then-block for fast server streams.
 *
 * A consumer that keeps up with a stream waits for every message, so between two messages the
 * event loop goes to sleep in epoll and the server's next write has to wake this process. Those
 * wake-ups, not bytes or frames (nothing is sent back during a stream), made streaming slower than
 * connect's stock transport. On the 2-vCPU KVM dev machine, whose guest halts an idle vCPU at once
 * (halt-polling off), waking a sleeping Node cost the grpcio worker 30–50 µs of CPU per message, a
 * third to a half of all it spent per message, and its send rate fell with it. The stock transport
 * runs more JavaScript (and garbage collection) per message, so its process was often still busy
 * when the next message came; ours was nearly always asleep.
 *
 * So while a consumer waits on a stream whose messages have been arriving close together, the
 * event loop keeps turning for a few tens of microseconds before it may sleep: a pending
 * setImmediate makes libuv poll without blocking, so I/O and every other callback are still served
 * on each turn (about 1 µs each), and a message that arrives meanwhile is read without anyone being
 * woken. The spinning costs Node about what sleeping and waking did; the server's saving is the
 * gain. `LingerPolicy` decides per call when that pays, so a slow stream never spins.
 */
import { performance } from 'node:perf_hooks';

/** How long one wait keeps the loop turning: about one message interval of a fast grpcio stream. */
export const lingerBudgetMs = 0.05;
/** A wait this short without lingering means the stream is fast enough for lingering to catch it. */
export const fastWaitMs = 0.25;
/** Cap on the waits skipped after lingers that missed in a row. */
const maxSkippedWaits = 64;

/** One poller per event loop, shared by every waiting stream: at most one setImmediate pending. */
let holders = 0;
let deadline = 0;
let turning = false;

function hold(): void {
  holders++;
  const until = performance.now() + lingerBudgetMs;
  if (until > deadline) deadline = until;
  if (!turning) {
    turning = true;
    setImmediate(turn);
  }
}

function turn(): void {
  // Stops as soon as nobody waits (the message came) or the budget is spent; then libuv may block.
  if (holders > 0 && performance.now() < deadline) setImmediate(turn);
  else turning = false;
}

/**
 * When a stream's consumer waits, whether to linger, and whether it paid off. A linger that saw
 * its message arrive (a hit) keeps lingering on. One that expired first (a miss) means messages
 * come just too slowly: the next waits block at once, twice as many after each further miss in a
 * row, so spinning that catches nothing stays a small fraction of a stream's waits.
 */
export class LingerPolicy {
  /** Set from measured waits only, so a call's first wait (server start-up) never spins. */
  private fast = false;
  private skip = 0;
  private misses = 0;
  private holding = false;
  private waitStartedAt = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** True while the current wait keeps the event loop turning. */
  get lingering(): boolean {
    return this.holding;
  }

  /** The consumer starts waiting for a message. */
  wait(): void {
    this.waitStartedAt = this.now();
    if (!this.fast) return;
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    this.holding = true;
    hold();
  }

  /** The wait ended: a message arrived, or the call ended (`arrived` false: nothing to learn). */
  settle(arrived: boolean): void {
    const lingered = this.holding;
    if (lingered) {
      this.holding = false;
      holders--;
    }
    if (!arrived) return;
    const waitedMs = this.now() - this.waitStartedAt;
    if (lingered) {
      if (waitedMs <= lingerBudgetMs) {
        this.misses = 0;
      } else {
        this.misses++;
        this.skip = Math.min(2 ** this.misses, maxSkippedWaits);
      }
    } else if (this.skip === 0) {
      this.fast = waitedMs <= fastWaitMs;
    }
  }
}
