/** The options of `redisSessionStore`, their defaults and their validation. */
import type { Redis, RedisOptions } from 'ioredis';
import { errors, maxSessionTtlMs } from '@snakepit/sdk/adapter';

export interface RedisSessionStoreOptions {
  /** Where Redis is, e.g. `redis://:password@host:6379/0` or `rediss://...` for TLS. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * An ioredis client to use instead of opening one. It stays yours: `close()` leaves it open, and
   * its own options (offline queue, retries, timeouts) apply; the store still bounds every call by
   * `operationTimeoutMs`.
   */
  client?: Redis;
  /** Extra ioredis options for the store's own client (not with `client`); they override the store's. */
  redisOptions?: RedisOptions;
  /** Prepended to every key, so that several applications can share one Redis. Default `snakepit:`. */
  keyPrefix?: string;
  /** Idle lifetime of a session, renewed on every access. Default 3 600 000 (1 h). */
  ttlMs?: number;
  /** User sessions alive at once, across every process using this Redis and prefix. Default 10 000. */
  maxSessions?: number;
  /** State entries per user session. Default 200. */
  maxEntriesPerSession?: number;
  /** Global entries. Default 10 000. */
  maxGlobalEntries?: number;
  /**
   * Longest time one store call may take, waiting for a connection included; past it the call fails
   * with `session_store_unavailable`. Default 2 000.
   */
  operationTimeoutMs?: number;
  /** Longest time the store's own client takes to open a connection. Default 2 000. */
  connectTimeoutMs?: number;
}

export const redisSessionStoreDefaults = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  keyPrefix: 'snakepit:',
  ttlMs: 3_600_000,
  maxSessions: 10_000,
  maxEntriesPerSession: 200,
  maxGlobalEntries: 10_000,
  operationTimeoutMs: 2_000,
  connectTimeoutMs: 2_000,
});

const knownOptions = new Set<string>([
  'url',
  'client',
  'redisOptions',
  'keyPrefix',
  'ttlMs',
  'maxSessions',
  'maxEntriesPerSession',
  'maxGlobalEntries',
  'operationTimeoutMs',
  'connectTimeoutMs',
]);

/** Longer prefixes are surely a mistake, and every key carries one. */
const maxKeyPrefixLength = 128;

export interface ResolvedOptions {
  url: string | undefined;
  client: Redis | undefined;
  redisOptions: RedisOptions | undefined;
  keyPrefix: string;
  ttlMs: number;
  maxSessions: number;
  maxEntriesPerSession: number;
  maxGlobalEntries: number;
  operationTimeoutMs: number;
  connectTimeoutMs: number;
}

export function validateTtl(ttlMs: unknown, key: string): number {
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw errors.invalidParameter(key, 'must be a positive integer');
  }
  if (ttlMs > maxSessionTtlMs) throw errors.invalidParameter(key, `must be at most ${maxSessionTtlMs} ms (1 year)`);
  return ttlMs;
}

type CountOption = 'maxSessions' | 'maxEntriesPerSession' | 'maxGlobalEntries' | 'operationTimeoutMs' | 'connectTimeoutMs';

function positiveInteger(options: RedisSessionStoreOptions, key: CountOption): number {
  const value: unknown = options[key] ?? redisSessionStoreDefaults[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw errors.invalidParameter(key, 'must be a positive integer');
  return value;
}

export function resolveOptions(options: RedisSessionStoreOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw errors.invalidParameter('options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key)) throw errors.invalidParameter(key, 'unknown option');
  }
  const { url, client, redisOptions } = options;
  if (url !== undefined && (typeof url !== 'string' || url === '')) throw errors.invalidParameter('url', 'must be a non-empty string');
  if (client !== undefined) {
    if (typeof client !== 'object' || client === null || typeof (client as Partial<Redis>).defineCommand !== 'function') {
      throw errors.invalidParameter('client', 'must be an ioredis client');
    }
    if (url !== undefined) throw errors.invalidParameter('client', 'give either url or client, not both');
    if (redisOptions !== undefined) throw errors.invalidParameter('redisOptions', 'only for the store\'s own client; configure your client instead');
  }
  if (redisOptions !== undefined && (typeof redisOptions !== 'object' || redisOptions === null)) {
    throw errors.invalidParameter('redisOptions', 'must be an object');
  }
  const keyPrefix = options.keyPrefix ?? redisSessionStoreDefaults.keyPrefix;
  if (typeof keyPrefix !== 'string') throw errors.invalidParameter('keyPrefix', 'must be a string');
  if (keyPrefix.length > maxKeyPrefixLength) throw errors.invalidParameter('keyPrefix', `must be at most ${maxKeyPrefixLength} characters`);
  return {
    url: client === undefined ? (url ?? redisSessionStoreDefaults.url) : undefined,
    client,
    redisOptions,
    keyPrefix,
    ttlMs: validateTtl(options.ttlMs ?? redisSessionStoreDefaults.ttlMs, 'ttlMs'),
    maxSessions: positiveInteger(options, 'maxSessions'),
    maxEntriesPerSession: positiveInteger(options, 'maxEntriesPerSession'),
    maxGlobalEntries: positiveInteger(options, 'maxGlobalEntries'),
    operationTimeoutMs: positiveInteger(options, 'operationTimeoutMs'),
    connectTimeoutMs: positiveInteger(options, 'connectTimeoutMs'),
  };
}
