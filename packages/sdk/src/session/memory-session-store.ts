/**
 * The default SessionStore: everything in this process's memory. Expired sessions are dropped by
 * an unref'd timer (so an idle store never keeps Node alive) and also on access, so expiry holds
 * even between sweeps and with the timer disabled. State is held in #private fields and every
 * value crosses the API as a structured clone, so nothing outside can reach or mutate it.
 */
import { errors, hostErrors } from '../errors.js';
import { validateStringMap } from '../tools/tool-validation.js';
import { assertJsonValue, type JsonValue } from '../wire/json-value.js';
import {
  maxSessionTtlMs,
  validateSessionId,
  validateStateKey,
  type CreateSessionOptions,
  type ListSessionsOptions,
  type Session,
  type SessionStore,
  type SessionStoreStats,
} from './session-store.js';

export interface MemorySessionStoreOptions {
  /** Idle lifetime of a session, renewed on every access. Default 3 600 000 (1 h). */
  ttlMs?: number;
  /** How often expired sessions are swept; 0 sweeps only on access. Default 60 000. */
  sweepIntervalMs?: number;
  /** User sessions alive at once. Default 10 000. */
  maxSessions?: number;
  /** State entries per user session. Default 200. */
  maxEntriesPerSession?: number;
  /** Global entries. Default 10 000. */
  maxGlobalEntries?: number;
  /** Clock, in ms since the epoch; injectable for tests. Default `Date.now`. */
  now?: () => number;
}

export interface MemorySessionStore extends SessionStore {
  /** Drops expired sessions now; resolves to how many were dropped. */
  sweep(): Promise<number>;
}

export const sessionStoreDefaults = Object.freeze({
  ttlMs: 3_600_000,
  sweepIntervalMs: 60_000,
  maxSessions: 10_000,
  maxEntriesPerSession: 200,
  maxGlobalEntries: 10_000,
});

interface SessionRecord {
  readonly id: string;
  readonly createdAt: number;
  lastAccessedAt: number;
  expiresAt: number;
  readonly ttlMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly internal: boolean;
  readonly state: Map<string, JsonValue>;
}

function positiveInteger(options: MemorySessionStoreOptions, key: keyof typeof sessionStoreDefaults, allowZero = false): number {
  const value = options[key] ?? sessionStoreDefaults[key];
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw errors.invalidParameter(key, allowZero ? 'must be a non-negative integer' : 'must be a positive integer');
  }
  return value;
}

function validateTtl(ttlMs: unknown, key: string): number {
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw errors.invalidParameter(key, 'must be a positive integer');
  }
  if (ttlMs > maxSessionTtlMs) throw errors.invalidParameter(key, `must be at most ${maxSessionTtlMs} ms (1 year)`);
  return ttlMs;
}

function snapshot(record: SessionRecord): Session {
  return Object.freeze({
    id: record.id,
    createdAt: record.createdAt,
    lastAccessedAt: record.lastAccessedAt,
    expiresAt: record.expiresAt,
    // Already a frozen copy, so sharing it exposes nothing mutable.
    metadata: record.metadata,
  });
}

class InMemorySessionStore implements MemorySessionStore {
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #globals = new Map<string, JsonValue>();
  readonly #ttlMs: number;
  readonly #sweepIntervalMs: number;
  readonly #maxSessions: number;
  readonly #maxEntriesPerSession: number;
  readonly #maxGlobalEntries: number;
  readonly #now: () => number;
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #userSessions = 0;
  #expiredSessions = 0;
  #lastSweepAt: number;
  #closed = false;

  constructor(options: MemorySessionStoreOptions) {
    this.#ttlMs = validateTtl(options.ttlMs ?? sessionStoreDefaults.ttlMs, 'ttlMs');
    this.#sweepIntervalMs = positiveInteger(options, 'sweepIntervalMs', true);
    this.#maxSessions = positiveInteger(options, 'maxSessions');
    this.#maxEntriesPerSession = positiveInteger(options, 'maxEntriesPerSession');
    this.#maxGlobalEntries = positiveInteger(options, 'maxGlobalEntries');
    if (options.now !== undefined && typeof options.now !== 'function') throw errors.invalidParameter('now', 'must be a function');
    this.#now = options.now ?? Date.now;
    this.#lastSweepAt = this.#now();
    if (this.#sweepIntervalMs > 0) {
      this.#timer = setInterval(() => this.#sweep(this.#now()), this.#sweepIntervalMs);
      this.#timer.unref();
    }
  }

  async create(id: string, options: CreateSessionOptions = {}): Promise<Session> {
    const now = this.#begin();
    validateSessionId(id, 'id');
    const ttlMs = options.ttlMs === undefined ? this.#ttlMs : validateTtl(options.ttlMs, 'ttlMs');
    const metadata = validateStringMap(options.metadata, 'metadata');
    const internal = options.internal === true;
    const existing = this.#live(id, now);
    if (existing !== undefined) return snapshot(this.#touchRecord(existing, now));
    if (!internal && this.#userSessions >= this.#maxSessions) {
      // Expired-but-unswept sessions must not hold a slot, so look again after a sweep.
      this.#sweep(now);
      if (this.#userSessions >= this.#maxSessions) {
        throw hostErrors.sessionQuotaExceeded(this.#maxSessions, this.#userSessions);
      }
    }
    const record: SessionRecord = {
      id,
      createdAt: now,
      lastAccessedAt: now,
      expiresAt: now + ttlMs,
      ttlMs,
      metadata,
      internal,
      state: new Map(),
    };
    this.#sessions.set(id, record);
    if (!internal) this.#userSessions += 1;
    return snapshot(record);
  }

  async get(id: string): Promise<Session | undefined> {
    const now = this.#begin();
    validateSessionId(id, 'id');
    const record = this.#live(id, now);
    return record === undefined ? undefined : snapshot(this.#touchRecord(record, now));
  }

  async touch(id: string): Promise<Session | undefined> {
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    const now = this.#begin();
    validateSessionId(id, 'id');
    const record = this.#live(id, now);
    if (record === undefined) return false;
    this.#remove(record);
    return true;
  }

  async list(options: ListSessionsOptions = {}): Promise<Session[]> {
    const now = this.#begin();
    this.#sweep(now);
    const sessions: Session[] = [];
    for (const record of this.#sessions.values()) {
      if (options.includeInternal === true || !record.internal) sessions.push(snapshot(record));
    }
    return sessions;
  }

  async getState(id: string, key: string): Promise<JsonValue | undefined> {
    validateStateKey(key);
    const value = this.#require(id).state.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  async setState(id: string, key: string, value: JsonValue): Promise<void> {
    validateStateKey(key);
    assertJsonValue(key, value);
    const record = this.#require(id);
    const isNewKey = !record.state.has(key);
    if (isNewKey && !record.internal && record.state.size >= this.#maxEntriesPerSession) {
      throw hostErrors.sessionEntryQuotaExceeded(id, this.#maxEntriesPerSession, record.state.size);
    }
    record.state.set(key, structuredClone(value));
  }

  async deleteState(id: string, key: string): Promise<boolean> {
    validateStateKey(key);
    return this.#require(id).state.delete(key);
  }

  async getGlobal(key: string): Promise<JsonValue | undefined> {
    validateStateKey(key);
    this.#begin();
    const value = this.#globals.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  async setGlobal(key: string, value: JsonValue): Promise<void> {
    validateStateKey(key);
    assertJsonValue(key, value);
    this.#begin();
    if (!this.#globals.has(key) && this.#globals.size >= this.#maxGlobalEntries) {
      throw hostErrors.globalEntryQuotaExceeded(this.#maxGlobalEntries, this.#globals.size);
    }
    this.#globals.set(key, structuredClone(value));
  }

  async deleteGlobal(key: string): Promise<boolean> {
    validateStateKey(key);
    this.#begin();
    return this.#globals.delete(key);
  }

  async stats(): Promise<SessionStoreStats> {
    this.#sweep(this.#begin());
    let sessionEntries = 0;
    for (const record of this.#sessions.values()) sessionEntries += record.state.size;
    return {
      sessions: this.#userSessions,
      internalSessions: this.#sessions.size - this.#userSessions,
      sessionEntries,
      globalEntries: this.#globals.size,
      expiredSessions: this.#expiredSessions,
    };
  }

  async sweep(): Promise<number> {
    return this.#sweep(this.#begin());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#sessions.clear();
    this.#globals.clear();
    this.#userSessions = 0;
  }

  /** Common prologue: refuses work after close, and sweeps when the timer has fallen behind. */
  #begin(): number {
    if (this.#closed) throw hostErrors.sessionStoreClosed();
    const now = this.#now();
    if (this.#sweepIntervalMs > 0 && now - this.#lastSweepAt >= this.#sweepIntervalMs) this.#sweep(now);
    return now;
  }

  /** The live record for a state operation, touched; `session_not_found` otherwise. */
  #require(id: string): SessionRecord {
    const now = this.#begin();
    validateSessionId(id, 'id');
    const record = this.#live(id, now);
    if (record === undefined) throw hostErrors.sessionNotFound(id);
    return this.#touchRecord(record, now);
  }

  #live(id: string, now: number): SessionRecord | undefined {
    const record = this.#sessions.get(id);
    if (record === undefined) return undefined;
    if (record.expiresAt <= now) {
      this.#remove(record);
      this.#expiredSessions += 1;
      return undefined;
    }
    return record;
  }

  #touchRecord(record: SessionRecord, now: number): SessionRecord {
    record.lastAccessedAt = now;
    record.expiresAt = now + record.ttlMs;
    return record;
  }

  #remove(record: SessionRecord): void {
    if (this.#sessions.get(record.id) !== record) return;
    this.#sessions.delete(record.id);
    if (!record.internal) this.#userSessions -= 1;
  }

  #sweep(now: number): number {
    this.#lastSweepAt = now;
    let dropped = 0;
    for (const record of this.#sessions.values()) {
      if (record.expiresAt <= now) {
        this.#remove(record);
        dropped += 1;
      }
    }
    this.#expiredSessions += dropped;
    return dropped;
  }
}

/** The in-memory SessionStore. Call `close()` when done (the pool does) to stop its sweep timer. */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): MemorySessionStore {
  return new InMemorySessionStore(options);
}
