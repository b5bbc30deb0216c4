/**
 * The event loop of the simulation: a clock in milliseconds and a binary heap of what happens
 * next. Events at the same time run in the order they were scheduled (a sequence number breaks
 * ties), so a run depends on nothing but its parameters and its seed.
 */

export class EventLoop {
  now = 0;
  processed = 0;
  #times = [];
  #sequences = [];
  #actions = [];
  #sequence = 0;

  /** Runs `action` `delayMs` from now (0: after everything already due now). */
  after(delayMs, action) {
    this.at(this.now + delayMs, action);
  }

  at(time, action) {
    if (!(time >= this.now)) throw new RangeError(`cannot schedule at ${time}, before now (${this.now})`);
    const times = this.#times;
    const sequences = this.#sequences;
    const actions = this.#actions;
    const sequence = this.#sequence++;
    let index = times.length;
    times.push(time);
    sequences.push(sequence);
    actions.push(action);
    // Sift up.
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (times[parent] < time || (times[parent] === time && sequences[parent] < sequence)) break;
      times[index] = times[parent];
      sequences[index] = sequences[parent];
      actions[index] = actions[parent];
      index = parent;
    }
    times[index] = time;
    sequences[index] = sequence;
    actions[index] = action;
  }

  get pending() {
    return this.#times.length;
  }

  /** Runs events in time order until none is left before `endTime`; the clock ends at `endTime`. */
  runUntil(endTime) {
    const times = this.#times;
    while (times.length > 0 && times[0] <= endTime) {
      const { time, action } = this.#pop();
      this.now = time;
      this.processed += 1;
      action();
    }
    this.now = Math.max(this.now, endTime);
  }

  #pop() {
    const times = this.#times;
    const sequences = this.#sequences;
    const actions = this.#actions;
    const top = { time: times[0], action: actions[0] };
    const lastTime = times.pop();
    const lastSequence = sequences.pop();
    const lastAction = actions.pop();
    const size = times.length;
    if (size === 0) return top;
    // Sift the last element down from the root.
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= size) break;
      const right = left + 1;
      let child = left;
      if (right < size && (times[right] < times[left] || (times[right] === times[left] && sequences[right] < sequences[left]))) {
        child = right;
      }
      if (lastTime < times[child] || (lastTime === times[child] && lastSequence < sequences[child])) break;
      times[index] = times[child];
      sequences[index] = sequences[child];
      actions[index] = actions[child];
      index = child;
    }
    times[index] = lastTime;
    sequences[index] = lastSequence;
    actions[index] = lastAction;
    return top;
  }
}
