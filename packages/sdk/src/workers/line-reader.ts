/**
 * Splits a byte stream into lines without ever buffering more than `maxLineBytes` per line. A
 * longer line is handed over in pieces of at most `maxLineBytes` bytes, cut between UTF-8
 * characters, so every byte arrives (a 1 MB line is 16 pieces of 64 KiB, nothing dropped).
 */
import type { Readable } from 'node:stream';

export const defaultMaxLineBytes = 64 * 1024;

/**
 * Called once per line; `part` numbers the pieces of a line longer than the limit (1, 2, ...) and
 * is undefined for a line that fits.
 */
export type LineHandler = (line: string, part: number | undefined) => void;

const newline = 0x0a;
const carriageReturn = 0x0d;

/** The largest cut at most `limit` that does not fall inside a UTF-8 sequence. */
function characterBoundary(bytes: Buffer, limit: number): number {
  // 0b10xxxxxx is a continuation byte: cutting before it would split a character. A sequence is
  // at most 4 bytes long; beyond that the bytes are not UTF-8 and any cut will do.
  for (let cut = limit; cut > 0 && cut > limit - 4; cut -= 1) {
    if ((bytes[cut]! & 0xc0) !== 0x80) return cut;
  }
  return limit;
}

export function readLines(stream: Readable, onLine: LineHandler, maxLineBytes = defaultMaxLineBytes): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Pieces of the current line already handed over. */
  let parts = 0;

  const append = (bytes: Buffer): void => {
    if (bytes.length === 0) return;
    pending.push(bytes);
    pendingBytes += bytes.length;
    if (pendingBytes <= maxLineBytes) return;
    let rest = Buffer.concat(pending, pendingBytes);
    while (rest.length > maxLineBytes) {
      const cut = characterBoundary(rest, maxLineBytes);
      parts += 1;
      onLine(rest.toString('utf8', 0, cut), parts);
      rest = rest.subarray(cut);
    }
    pending = [rest];
    pendingBytes = rest.length;
  };

  const endLine = (): void => {
    let line = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    if (line.length > 0 && line[line.length - 1] === carriageReturn) line = line.subarray(0, line.length - 1);
    pending = [];
    pendingBytes = 0;
    if (parts > 0) {
      // The last piece of a split line; an empty one (the line ended exactly at a cut) is dropped.
      if (line.length > 0) onLine(line.toString('utf8'), parts + 1);
      parts = 0;
      return;
    }
    onLine(line.toString('utf8'), undefined);
  };

  stream.on('data', (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (;;) {
      const end = bytes.indexOf(newline, start);
      if (end === -1) {
        append(bytes.subarray(start));
        return;
      }
      append(bytes.subarray(start, end));
      endLine();
      start = end + 1;
    }
  });
  stream.on('end', () => {
    if (pendingBytes > 0) endLine();
  });
  // A broken pipe on a dying child is expected; the exit handler reports what matters.
  stream.on('error', () => {});
}
