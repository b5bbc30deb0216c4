import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readLines } from '../../src/workers/line-reader.js';

interface Line {
  line: string;
  part: number | undefined;
}

/** Feeds `chunks` through readLines and resolves with every line once the stream ended. */
function linesOf(chunks: Array<string | Buffer>, maxLineBytes?: number): Promise<Line[]> {
  const stream = new PassThrough();
  const lines: Line[] = [];
  readLines(stream, (line, part) => lines.push({ line, part }), maxLineBytes);
  return new Promise((resolve) => {
    stream.on('end', () => resolve(lines));
    for (const chunk of chunks) stream.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    stream.end();
  });
}

/** Cuts `text` into chunks of `size` bytes, as a pipe might deliver it (even mid-character). */
function chunked(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) chunks.push(bytes.subarray(start, start + size));
  return chunks;
}

const megabyteLine = Array.from({ length: 1024 * 1024 }, (_, index) => String.fromCharCode(97 + (index % 26))).join('');

describe('readLines', () => {
  it('splits lines, drops a trailing CR, and keeps a last line without a newline', async () => {
    expect(await linesOf(['one\ntwo\r\nth', 'ree\n\nlast'])).toEqual([
      { line: 'one', part: undefined },
      { line: 'two', part: undefined },
      { line: 'three', part: undefined },
      { line: '', part: undefined },
      { line: 'last', part: undefined },
    ]);
  });

  it.each([
    ['one chunk', [`${megabyteLine}\n`]],
    ['pipe-sized chunks', chunked(`${megabyteLine}\n`, 65_536)],
    ['odd-sized chunks', chunked(`${megabyteLine}\n`, 10_007)],
  ])('hands a 1 MB line over in 64 KiB pieces without losing a byte (%s)', async (_name, chunks) => {
    const lines = await linesOf([...chunks, 'next\n']);
    const pieces = lines.slice(0, -1);
    expect(pieces).toHaveLength(16);
    expect(pieces.map((piece) => piece.part)).toEqual(Array.from({ length: 16 }, (_, index) => index + 1));
    expect(pieces.every((piece) => Buffer.byteLength(piece.line) <= 64 * 1024)).toBe(true);
    expect(pieces.map((piece) => piece.line).join('')).toBe(megabyteLine);
    expect(lines.at(-1)).toEqual({ line: 'next', part: undefined });
  });

  it('never cuts inside a UTF-8 character, whatever the chunking', async () => {
    const text = 'aé€😀'.repeat(5_000);
    for (const size of [1, 3, 7, 4096]) {
      const lines = await linesOf([...chunked(`${text}\nafter\n`, size)], 1000);
      const pieces = lines.filter((line) => line.part !== undefined);
      expect(pieces.length).toBeGreaterThan(1);
      expect(pieces.every((piece) => !piece.line.includes('\uFFFD') && Buffer.byteLength(piece.line) <= 1000)).toBe(true);
      expect(pieces.map((piece) => piece.line).join('')).toBe(text);
      expect(lines.at(-1)).toEqual({ line: 'after', part: undefined });
    }
  });

  it('a line of exactly the limit is one line; one byte more is two pieces', async () => {
    expect(await linesOf(['x'.repeat(100), '\n'], 100)).toEqual([{ line: 'x'.repeat(100), part: undefined }]);
    expect(await linesOf(['x'.repeat(101), '\n'], 100)).toEqual([
      { line: 'x'.repeat(100), part: 1 },
      { line: 'x', part: 2 },
    ]);
    // A long line cut off by the end of the stream keeps its tail too.
    expect(await linesOf(['y'.repeat(150)], 100)).toEqual([
      { line: 'y'.repeat(100), part: 1 },
      { line: 'y'.repeat(50), part: 2 },
    ]);
  });
});
