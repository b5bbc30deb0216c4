
/**
 * One chunk of a stream as the caller sees it: the chunk's JSON object fields, a non-object
 * JSON value under `data`, bytes that are not JSON under `raw_data_base64`; always `is_final`;
 * `_metadata` when the chunk carried metadata. Exactly one chunk of a stream is final.
 */
export interface Chunk {
  is_final: boolean;
  _metadata?: Record<string, string>;
  [field: string]: unknown;
}
/** Turns a stream chunk's payload into the shape callers see (see `Chunk`). */

export type ChunkPayload =
  | { kind: 'json'; value: unknown }
  | { kind: 'binary'; value: Uint8Array }
  | { kind: 'none' };

export function toChunk(payload: ChunkPayload, isFinal: boolean, metadata?: Record<string, string>): Chunk {
  let chunk: Chunk;
  switch (payload.kind) {
    case 'json': {
      const value = payload.value;
      chunk =
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? { ...(value as Record<string, unknown>), is_final: isFinal }
          : { data: value, is_final: isFinal };
      break;
    }
    case 'binary':
      chunk = { raw_data_base64: Buffer.from(payload.value).toString('base64'), is_final: isFinal };
      break;
    case 'none':
      chunk = { is_final: isFinal };
      break;
  }
  if (metadata !== undefined && Object.keys(metadata).length > 0) chunk._metadata = metadata;
  return chunk;
}
