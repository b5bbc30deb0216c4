/** Splits a byte stream into lines without ever buffering more than `maxLineBytes` per line. */
import type { Readable } from 'node:stream';

export function readLines(stream: Readable, onLine: (line: string) => void, maxLineBytes = 64 * 1024): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    pending += text;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      onLine(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    if (pending.length > maxLineBytes) {
      onLine(pending.slice(0, maxLineBytes));
      pending = '';
    }
  });
  stream.on('end', () => {
    if (pending.length > 0) onLine(pending);
    pending = '';
  });
  // A broken pipe on a dying child is expected; the exit handler reports what matters.
  stream.on('error', () => {});
}
