/**
 * What calls wait for and hold: a FIFO queue, a time-weighted level (for utilisation), and a
 * server with a number of identical units taken first come, first served (a Node event loop is
 * one unit, a host's cores are several, a Python process's GIL is one, a NIC is one).
 */

/** A first-in, first-out queue with O(1) push and shift. */
export class Fifo {
  #items = [];
  #head = 0;

  get length() {
    return this.#items.length - this.#head;
  }

  push(item) {
    this.#items.push(item);
  }

  peek() {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  shift() {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Puts `item` before the first item whose `key` is greater than its own (a re-queued call keeps its place). */
  insertBy(item, key) {
    const items = this.#items;
    let index = items.length;
    while (index > this.#head && key(items[index - 1]) > key(item)) index -= 1;
    items.splice(index, 0, item);
  }

  *[Symbol.iterator]() {
    for (let index = this.#head; index < this.#items.length; index += 1) yield this.#items[index];
  }
}

/**
 * A quantity that changes over time (calls running, units busy), integrated over a measurement
 * window so its mean is a utilisation.
 */
export class Level {
  value = 0;
  peak = 0;
  #area = 0;
  #since = 0;
  #windowStart = 0;

  constructor(clock) {
    this.clock = clock;
  }

  add(delta) {
    this.#accumulate();
    this.value += delta;
    if (this.value > this.peak) this.peak = this.value;
  }

  /** Forgets what happened so far: the window starts now. */
  startWindow() {
    this.#accumulate();
    this.#area = 0;
    this.#windowStart = this.clock.now;
    this.peak = this.value;
  }

  /** Mean level since the window started. */
  mean() {
    this.#accumulate();
    const span = this.clock.now - this.#windowStart;
    return span > 0 ? this.#area / span : this.value;
  }

  #accumulate() {
    const now = this.clock.now;
    this.#area += this.value * (now - this.#since);
    this.#since = now;
  }
}

/** `units` identical servers, first come first served; `busy` integrates how many are taken. */
export class Server {
  #waiting = new Fifo();

  constructor(clock, units, name) {
    if (!(units >= 1)) throw new RangeError(`${name}: needs at least one unit`);
    this.clock = clock;
    this.units = units;
    this.name = name;
    this.busy = new Level(clock);
  }

  get queued() {
    return this.#waiting.length;
  }

  /** Calls `granted` once a unit is this caller's (now if one is free). */
  acquire(granted) {
    if (this.busy.value < this.units) {
      this.busy.add(1);
      granted();
    } else {
      this.#waiting.push(granted);
    }
  }

  /** Gives the unit to the next waiter, or frees it. */
  release() {
    const next = this.#waiting.shift();
    if (next === undefined) this.busy.add(-1);
    else next();
  }

  /** Takes a unit, holds it `durationMs`, frees it, then calls `done`. */
  hold(durationMs, done) {
    this.acquire(() => {
      this.clock.after(durationMs, () => {
        this.release();
        done?.();
      });
    });
  }

  /**
   * Like `hold`, in turns of at most `sliceMs`: after each turn the caller queues again behind
   * whoever arrived meanwhile (a long job takes turns with short ones instead of blocking them).
   */
  holdSliced(durationMs, sliceMs, done) {
    if (durationMs <= sliceMs) this.hold(durationMs, done);
    else this.hold(sliceMs, () => this.holdSliced(durationMs - sliceMs, sliceMs, done));
  }

  /** Mean fraction of the units busy in the window. */
  utilisation() {
    return this.busy.mean() / this.units;
  }
}
