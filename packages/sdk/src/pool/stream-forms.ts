/** The two shapes of a stream besides the live call: refused up front, and driven by a callback. */
import type { SnakepitError } from '../errors.js';
import type { Chunk, ChunkCallback } from '../types.js';

/** A stream refused before it was sent (bad arguments or options): its first `next()` rejects. */
export function refusedStream(error: SnakepitError): AsyncIterableIterator<Chunk> {
  let reported = false;
  const iterator: AsyncIterableIterator<Chunk> = {
    next: () => {
      if (reported) return Promise.resolve({ done: true, value: undefined });
      reported = true;
      return Promise.reject(error);
    },
    return: (value?: unknown) => {
      reported = true;
      return Promise.resolve({ done: true, value } as IteratorResult<Chunk>);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

export async function consumeWithCallback(stream: AsyncIterableIterator<Chunk>, onChunk: ChunkCallback): Promise<void> {
  for await (const chunk of stream) {
    if ((await onChunk(chunk)) === 'halt') break;
  }
}
