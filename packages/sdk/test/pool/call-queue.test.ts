import { describe, expect, it } from 'vitest';
import { CallQueue, type QueueEntry } from '../../src/pool/call-queue.js';

class Entry implements QueueEntry<Entry> {
  queue: CallQueue<Entry> | undefined;
  queuePrevious: Entry | undefined;
  queueNext: Entry | undefined;
  constructor(readonly queueSequence: number) {}
}

const sequences = (queue: CallQueue<Entry>) => queue.toArray().map((entry) => entry.queueSequence);

describe('CallQueue', () => {
  it('is first in, first out', () => {
    const queue = new CallQueue<Entry>();
    for (let sequence = 1; sequence <= 5; sequence += 1) queue.push(new Entry(sequence));
    expect(queue.length).toBe(5);
    expect([queue.shift(), queue.shift()].map((entry) => entry!.queueSequence)).toEqual([1, 2]);
    expect(queue.peek()!.queueSequence).toBe(3);
    expect(sequences(queue)).toEqual([3, 4, 5]);
  });

  it('removes any entry, once', () => {
    const queue = new CallQueue<Entry>();
    const entries = [1, 2, 3, 4].map((sequence) => new Entry(sequence));
    for (const entry of entries) queue.push(entry);
    expect(queue.remove(entries[1]!)).toBe(true);
    expect(queue.remove(entries[1]!)).toBe(false);
    expect(queue.remove(entries[0]!)).toBe(true);
    expect(queue.remove(entries[3]!)).toBe(true);
    expect(sequences(queue)).toEqual([3]);
    expect(queue.length).toBe(1);
    expect(new CallQueue<Entry>().remove(entries[2]!)).toBe(false);
  });

  it('inserts in sequence order and merges another queue in order', () => {
    const queue = new CallQueue<Entry>();
    for (const sequence of [2, 5, 9]) queue.push(new Entry(sequence));
    queue.insertInOrder(new Entry(7));
    queue.insertInOrder(new Entry(1));
    queue.insertInOrder(new Entry(10));
    expect(sequences(queue)).toEqual([1, 2, 5, 7, 9, 10]);
    const other = new CallQueue<Entry>();
    for (const sequence of [3, 8, 11]) other.push(new Entry(sequence));
    queue.absorb(other);
    expect(sequences(queue)).toEqual([1, 2, 3, 5, 7, 8, 9, 10, 11]);
    expect(other.length).toBe(0);
    expect(queue.length).toBe(9);
  });
});
