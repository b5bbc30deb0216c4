/** Reading the bench's streams: chunks {index, ...} that must arrive complete and in order. */

/**
 * Calls `onChunk` for every chunk (awaiting it when it returns a promise, which is how a slow
 * consumer slows the stream) and returns how many arrived. The pool's closing `{is_final: true}`
 * chunk carries no index and is skipped.
 */
export async function forEachIndexedChunk(chunks, onChunk) {
  let expected = 0;
  for await (const chunk of chunks) {
    if (chunk.index === undefined && chunk.is_final) continue;
    if (chunk.index !== expected) {
      throw new Error(`stream chunk ${expected} missing or out of order: got ${JSON.stringify(chunk).slice(0, 120)}`);
    }
    expected++;
    const pending = onChunk?.(chunk);
    if (pending) await pending;
  }
  return expected;
}

export function expectChunkCount(received, count) {
  if (received !== count) throw new Error(`stream delivered ${received} chunks, expected ${count}`);
}
