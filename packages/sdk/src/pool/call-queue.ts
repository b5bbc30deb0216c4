/**
 * A FIFO of waiting calls as an intrusive doubly linked list: push, shift and removal of any entry
 * (a call that timed out or was aborted while waiting) are all O(1), which an array cannot give a
 * queue of a thousand calls. Entries carry a sequence number so queues can be merged in FIFO order.
 */

export interface QueueEntry<T extends QueueEntry<T>> {
  queue: CallQueue<T> | undefined;
  queuePrevious: T | undefined;
  queueNext: T | undefined;
  /** Increases with every enqueue; lower means waiting longer. */
  queueSequence: number;
}

export class CallQueue<T extends QueueEntry<T>> {
  private head: T | undefined;
  private tail: T | undefined;
  private count = 0;

  get length(): number {
    return this.count;
  }

  peek(): T | undefined {
    return this.head;
  }

  push(entry: T): void {
    entry.queue = this;
    entry.queuePrevious = this.tail;
    entry.queueNext = undefined;
    if (this.tail) this.tail.queueNext = entry;
    else this.head = entry;
    this.tail = entry;
    this.count += 1;
  }

  /** Inserts keeping sequence order; cheap when the entry belongs near the tail, as it usually does. */
  insertInOrder(entry: T): void {
    let after = this.tail;
    while (after !== undefined && after.queueSequence > entry.queueSequence) after = after.queuePrevious;
    entry.queue = this;
    entry.queuePrevious = after;
    entry.queueNext = after ? after.queueNext : this.head;
    if (entry.queueNext) entry.queueNext.queuePrevious = entry;
    else this.tail = entry;
    if (after) after.queueNext = entry;
    else this.head = entry;
    this.count += 1;
  }

  remove(entry: T): boolean {
    if (entry.queue !== this) return false;
    if (entry.queuePrevious) entry.queuePrevious.queueNext = entry.queueNext;
    else this.head = entry.queueNext;
    if (entry.queueNext) entry.queueNext.queuePrevious = entry.queuePrevious;
    else this.tail = entry.queuePrevious;
    entry.queue = undefined;
    entry.queuePrevious = undefined;
    entry.queueNext = undefined;
    this.count -= 1;
    return true;
  }

  shift(): T | undefined {
    const entry = this.head;
    if (entry) this.remove(entry);
    return entry;
  }

  /** Moves every entry of `other` into this queue, keeping sequence order. */
  absorb(other: CallQueue<T>): void {
    let entry = other.shift();
    while (entry !== undefined) {
      this.insertInOrder(entry);
      entry = other.shift();
    }
  }

  /** A snapshot, for the rare paths that fail every waiting call. */
  toArray(): T[] {
    const entries: T[] = [];
    for (let entry = this.head; entry !== undefined; entry = entry.queueNext) entries.push(entry);
    return entries;
  }
}
