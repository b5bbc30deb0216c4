/** What a caller may say about one call, besides the tool and its arguments. */

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
