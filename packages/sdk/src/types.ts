/** The plain-object types callers see. Wire messages never leave the adapter boundary. */

/** Arguments of a tool call: JSON values per parameter; `Uint8Array`/`Buffer` values travel as raw bytes. */
export type ToolArguments = Record<string, unknown>;

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

/** What a stream callback may return: `'halt'` stops the stream early. */
export type ChunkCallbackResult = void | 'halt' | Promise<void | 'halt'>;
export type ChunkCallback = (chunk: Chunk) => ChunkCallbackResult;

export type AffinityMode = 'hint' | 'strict-queue' | 'strict-fail-fast';

export interface CallOptions {
  /** Deadline for the whole call, queue wait included. Default: the pool's `timeoutMs` / `streamTimeoutMs`. */
  timeoutMs?: number;
  /** Aborting it rejects the call with `aborted` and cancels the Python side. */
  signal?: AbortSignal;
  /** Routes the call to the session's worker according to the pool's affinity mode. */
  sessionId?: string;
  /** Overrides the pool's affinity mode for this call. */
  affinity?: AffinityMode;
  /** Travels as gRPC metadata and appears in both sides' logs. Generated when omitted. */
  correlationId?: string;
  /** Free-form string metadata handed to the tool. */
  metadata?: Record<string, string>;
}
