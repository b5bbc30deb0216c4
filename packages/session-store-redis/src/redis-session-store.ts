/**
 * A SessionStore on Redis, shared by every Node process that uses the same Redis and key prefix.
 * Each operation is one Lua script (scripts.ts), so quotas hold across processes and a session's
 * expiry is one Redis TTL that every access moves. Values cross as JSON text, so what a caller gets
 * back is always a fresh copy.
 */
import type { CreateSessionOptions, JsonValue, ListSessionsOptions, Session, SessionStore, SessionStoreStats } from '@snakepit/sdk';
import {
  assertJsonValue,
  hostErrors,
  validateSessionId,
  validateStateKey,
  validateStringMap,
} from '@snakepit/sdk/adapter';
import { resolveOptions, validateTtl, type RedisSessionStoreOptions, type ResolvedOptions } from './options.js';
import { RedisConnection } from './redis-connection.js';
import { keyLayout, type KeyLayout, type ScriptName } from './scripts.js';

type Reply = Array<string | number | null>;

function snapshot(id: string, createdAt: unknown, lastAccessedAt: unknown, expiresAt: unknown, metadata: unknown): Session {
  return Object.freeze({
    id,
    createdAt: Number(createdAt),
    lastAccessedAt: Number(lastAccessedAt),
    expiresAt: Number(expiresAt),
    metadata: Object.freeze(JSON.parse(String(metadata)) as Record<string, string>),
  });
}

function parseValue(text: unknown): JsonValue | undefined {
  return text === null || text === undefined ? undefined : (JSON.parse(String(text)) as JsonValue);
}

class RedisSessionStore implements SessionStore {
  readonly #options: ResolvedOptions;
  readonly #keys: KeyLayout;
  readonly #connection: RedisConnection;

  constructor(options: RedisSessionStoreOptions) {
    this.#options = resolveOptions(options);
    this.#keys = keyLayout(this.#options.keyPrefix);
    this.#connection = new RedisConnection(this.#options);
  }

  async create(id: string, options: CreateSessionOptions = {}): Promise<Session> {
    validateSessionId(id, 'id');
    const ttlMs = options.ttlMs === undefined ? this.#options.ttlMs : validateTtl(options.ttlMs, 'ttlMs');
    const metadata = JSON.stringify(validateStringMap(options.metadata, 'metadata'));
    const internal = options.internal === true ? '1' : '0';
    const reply = await this.#session('create', 'snakepitSessionCreate', id, [ttlMs, internal, metadata, this.#options.maxSessions]);
    if (reply[0] === 'session_quota') throw hostErrors.sessionQuotaExceeded(Number(reply[1]), Number(reply[2]));
    return snapshot(id, reply[1], reply[2], reply[3], reply[4]);
  }

  async get(id: string): Promise<Session | undefined> {
    validateSessionId(id, 'id');
    const reply = await this.#session('get', 'snakepitSessionTouch', id, []);
    return reply[0] === 'ok' ? snapshot(id, reply[1], reply[2], reply[3], reply[4]) : undefined;
  }

  async touch(id: string): Promise<Session | undefined> {
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    validateSessionId(id, 'id');
    return (await this.#session('delete', 'snakepitSessionDelete', id, []))[0] === 'ok';
  }

  async list(options: ListSessionsOptions = {}): Promise<Session[]> {
    const reply = (await this.#connection.script('list', 'snakepitSessionList', this.#keys.indexKeys, [
      options.includeInternal === true ? '1' : '0',
    ])) as Reply;
    const sessions: Session[] = [];
    for (let index = 0; index < reply.length; index += 5) {
      sessions.push(snapshot(String(reply[index]), reply[index + 1], reply[index + 2], reply[index + 3], reply[index + 4]));
    }
    return sessions;
  }

  async getState(id: string, key: string): Promise<JsonValue | undefined> {
    validateStateKey(key);
    validateSessionId(id, 'id');
    const reply = await this.#stateOperation('getState', 'snakepitStateGet', id, [key]);
    return parseValue(reply[1]);
  }

  async setState(id: string, key: string, value: JsonValue): Promise<void> {
    validateStateKey(key);
    assertJsonValue(key, value);
    validateSessionId(id, 'id');
    const reply = await this.#stateOperation('setState', 'snakepitStateSet', id, [key, JSON.stringify(value), this.#options.maxEntriesPerSession]);
    if (reply[0] === 'entry_quota') throw hostErrors.sessionEntryQuotaExceeded(id, Number(reply[1]), Number(reply[2]));
  }

  async deleteState(id: string, key: string): Promise<boolean> {
    validateStateKey(key);
    validateSessionId(id, 'id');
    const reply = await this.#stateOperation('deleteState', 'snakepitStateDelete', id, [key]);
    return Number(reply[1]) > 0;
  }

  async getGlobal(key: string): Promise<JsonValue | undefined> {
    validateStateKey(key);
    return parseValue(await this.#connection.run('getGlobal', () => this.#connection.client.hget(this.#keys.globals, key)));
  }

  async setGlobal(key: string, value: JsonValue): Promise<void> {
    validateStateKey(key);
    assertJsonValue(key, value);
    const reply = (await this.#connection.script('setGlobal', 'snakepitGlobalSet', [this.#keys.globals], [
      key,
      JSON.stringify(value),
      this.#options.maxGlobalEntries,
    ])) as Reply;
    if (reply[0] === 'global_quota') throw hostErrors.globalEntryQuotaExceeded(Number(reply[1]), Number(reply[2]));
  }

  async deleteGlobal(key: string): Promise<boolean> {
    validateStateKey(key);
    return (await this.#connection.run('deleteGlobal', () => this.#connection.client.hdel(this.#keys.globals, key))) > 0;
  }

  async stats(): Promise<SessionStoreStats> {
    const reply = (await this.#connection.script('stats', 'snakepitSessionStats', [...this.#keys.indexKeys, this.#keys.globals], [])) as Reply;
    const [sessions, internalSessions, sessionEntries, globalEntries, expiredSessions] = reply.map(Number);
    return {
      sessions: sessions ?? 0,
      internalSessions: internalSessions ?? 0,
      sessionEntries: sessionEntries ?? 0,
      globalEntries: globalEntries ?? 0,
      expiredSessions: expiredSessions ?? 0,
    };
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }

  /** A script about one session: the index keys, then its session and state hashes. */
  async #session(operation: string, script: ScriptName, id: string, args: Array<string | number>): Promise<Reply> {
    const keys = [...this.#keys.indexKeys, this.#keys.session(id), this.#keys.state(id)];
    return (await this.#connection.script(operation, script, keys, [id, ...args])) as Reply;
  }

  async #stateOperation(operation: string, script: ScriptName, id: string, args: Array<string | number>): Promise<Reply> {
    const reply = await this.#session(operation, script, id, args);
    if (reply[0] === 'not_found') throw hostErrors.sessionNotFound(id);
    return reply;
  }
}

/**
 * A SessionStore on Redis. Pass it to `createPool({ sessionStore })` in every process that should
 * share sessions; call `close()` when done (the pool never closes a store it did not create).
 */
export function redisSessionStore(options: RedisSessionStoreOptions = {}): SessionStore {
  return new RedisSessionStore(options);
}
