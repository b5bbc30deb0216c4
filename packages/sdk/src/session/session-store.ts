/**
 * Where sessions and their state live. Every method is async so that a store shared by many Node
 * processes (Redis, a database) can implement the same interface as the in-memory default.
 *
 * Contract every implementation keeps:
 * - `create` is idempotent: re-creating a live id returns it (touched), even when the store is at
 *   its session quota; options of the second call are ignored.
 * - A session past its `expiresAt` is missing everywhere, whether or not it has been swept yet.
 * - Quotas fail fast with `session_quota_exceeded`, `session_entry_quota_exceeded` or
 *   `global_entry_quota_exceeded` (details: limit, current); overwriting an existing key always
 *   succeeds. Internal sessions (the workers' own housekeeping) neither count against nor are
 *   limited by these quotas.
 * - State values are JSON; what a caller gets back is a copy, never the stored object.
 * - State operations on an unknown or expired session fail with `session_not_found`.
 */
import { errors } from '../errors.js';
import type { JsonValue } from '../wire/json-value.js';

/** A session as callers see it: a frozen snapshot, never a reference into the store. */
export interface Session {
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly lastAccessedAt: number;
  /** The session is gone from this moment on; every access moves it to `lastAccessedAt + ttl`. */
  readonly expiresAt: number;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface CreateSessionOptions {
  /** Idle lifetime of this session. Default: the store's `ttlMs`. */
  ttlMs?: number;
  /** Free-form strings, bounded like tool metadata (≤ 32 entries, ≤ 4 KiB as JSON). */
  metadata?: Record<string, string>;
  /** A worker's own housekeeping session: exempt from the session and entry quotas. */
  internal?: boolean;
}

export interface ListSessionsOptions {
  /** Also list the workers' internal sessions. Default false. */
  includeInternal?: boolean;
}

export interface SessionStoreStats {
  /** Live user sessions (the ones counted against `maxSessions`). */
  sessions: number;
  internalSessions: number;
  /** State entries across all sessions. */
  sessionEntries: number;
  globalEntries: number;
  /** Sessions removed because they expired, since the store was created. */
  expiredSessions: number;
}

export interface SessionStore {
  create(id: string, options?: CreateSessionOptions): Promise<Session>;
  /** The live session, touched; undefined when it never existed, was deleted or expired. */
  get(id: string): Promise<Session | undefined>;
  /** True when a live session was deleted. */
  delete(id: string): Promise<boolean>;
  list(options?: ListSessionsOptions): Promise<Session[]>;
  /** Extends the session's life; undefined when it is missing. */
  touch(id: string): Promise<Session | undefined>;
  /** The stored value (a copy), or undefined when the key is not set. */
  getState(id: string, key: string): Promise<JsonValue | undefined>;
  setState(id: string, key: string, value: JsonValue): Promise<void>;
  /** True when the key was set. */
  deleteState(id: string, key: string): Promise<boolean>;
  getGlobal(key: string): Promise<JsonValue | undefined>;
  setGlobal(key: string, value: JsonValue): Promise<void>;
  deleteGlobal(key: string): Promise<boolean>;
  stats(): Promise<SessionStoreStats>;
  /** Stops background work and releases everything; later calls fail with `pool_closed`. Idempotent. */
  close(): Promise<void>;
}

/** Longest accepted TTL (one year): keeps `now + ttl` far inside the safe-integer range. */
export const maxSessionTtlMs = 365 * 24 * 3_600_000;

/** Longest session id and state key; matches what the host bridge accepts from workers. */
export const maxSessionIdLength = 256;
export const maxStateKeyLength = 256;

/** Throws `invalid_parameter` unless `value` is a non-empty string of at most `maxLength` characters. */
export function validateIdentifier(value: unknown, key: string, maxLength: number): string {
  if (typeof value !== 'string') throw errors.invalidParameter(key, 'invalid_type');
  if (value.length === 0) throw errors.invalidParameter(key, 'empty');
  if (value.length > maxLength) throw errors.invalidParameter(key, 'too_long');
  return value;
}

export function validateSessionId(id: unknown, key = 'session_id'): string {
  return validateIdentifier(id, key, maxSessionIdLength);
}

export function validateStateKey(stateKey: unknown, key = 'key'): string {
  return validateIdentifier(stateKey, key, maxStateKeyLength);
}
