import { describe, expect, it } from 'vitest';
import { Code, ConnectError } from '@connectrpc/connect';
import { EnvelopeReader, encodeEnvelope } from '../../src/transport/grpc-framing.js';

const bytes = (...values: number[]) => Buffer.from(values);

function readAll(reader: EnvelopeReader, chunks: Buffer[]): number[][] {
  const messages: number[][] = [];
  for (const chunk of chunks) {
    const completed = reader.push(chunk);
    if (completed === undefined) continue;
    for (const payload of Array.isArray(completed) ? completed : [completed]) messages.push([...payload]);
  }
  return messages;
}

describe('encodeEnvelope', () => {
  it('prefixes a flag byte and the big-endian length', () => {
    expect([...encodeEnvelope(bytes(1, 2, 3))]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
    expect([...encodeEnvelope(new Uint8Array())]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('EnvelopeReader', () => {
  it('hands out a message contained in one chunk without copying', () => {
    const frame = encodeEnvelope(bytes(9, 8));
    const payload = new EnvelopeReader(100).push(frame) as Uint8Array;
    expect([...payload]).toEqual([9, 8]);
    expect(payload.buffer).toBe(frame.buffer);
  });

  it('joins messages split anywhere, including inside the prefix', () => {
    const wire = Buffer.concat([encodeEnvelope(bytes(1, 2, 3, 4)), encodeEnvelope(bytes()), encodeEnvelope(bytes(5))]);
    for (let cut = 1; cut < wire.length; cut++) {
      const reader = new EnvelopeReader(100);
      expect(readAll(reader, [wire.subarray(0, cut), wire.subarray(cut)])).toEqual([[1, 2, 3, 4], [], [5]]);
      expect(reader.hasPartialMessage).toBe(false);
    }
    const byteByByte = [...wire].map((value) => bytes(value));
    expect(readAll(new EnvelopeReader(100), byteByByte)).toEqual([[1, 2, 3, 4], [], [5]]);
  });

  it('reports a truncated message', () => {
    const reader = new EnvelopeReader(100);
    reader.push(encodeEnvelope(bytes(1, 2, 3)).subarray(0, 6));
    expect(reader.hasPartialMessage).toBe(true);
  });

  it('refuses a message larger than readMaxBytes as soon as its prefix arrives', () => {
    const reader = new EnvelopeReader(4);
    const error = (() => {
      try {
        reader.push(bytes(0, 0, 0, 0, 5));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
  });

  it('refuses compressed messages, since no compression is negotiated', () => {
    expect(() => new EnvelopeReader(100).push(bytes(1, 0, 0, 0, 0))).toThrow(/compressed/);
  });
});
