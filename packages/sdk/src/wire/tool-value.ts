/** The one boundary where ToolValue wire messages become plain values, and back. */
import type { ToolValue } from '../gen/snakepit/bridge/v1/common_pb.js';
import type { ChunkPayload } from './chunk.js';

const decoder = new TextDecoder();

export function parseJson(bytes: Uint8Array): unknown {
  return JSON.parse(decoder.decode(bytes));
}

/** A result: JSON becomes its value, bytes stay a Uint8Array, an unset value is null. */
export function decodeToolValue(value: ToolValue | undefined): unknown {
  switch (value?.kind.case) {
    case 'json':
      return parseJson(value.kind.value);
    case 'binary':
      return value.kind.value;
    default:
      return null;
  }
}

export function toChunkPayload(value: ToolValue | undefined): ChunkPayload {
  switch (value?.kind.case) {
    case 'json':
      return { kind: 'json', value: parseJson(value.kind.value) };
    case 'binary':
      return { kind: 'binary', value: value.kind.value };
    default:
      return { kind: 'none' };
  }
}

/** A plain value as a ToolValue initialiser: bytes stay bytes, everything else is JSON. */
export function encodeToolValue(value: unknown): { kind: { case: 'json' | 'binary'; value: Uint8Array } } {
  if (value instanceof Uint8Array) return { kind: { case: 'binary', value } };
  return { kind: { case: 'json', value: Buffer.from(JSON.stringify(value ?? null), 'utf8') } };
}
