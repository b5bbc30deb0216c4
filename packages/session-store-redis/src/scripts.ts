/**
 * The key layout and the Lua scripts. Every operation that reads and then writes runs as one
 * script, so a quota check and the write it guards are atomic across every process sharing the
 * Redis, and every script reads the clock from Redis (`TIME`), so all processes agree on when a
 * session expires whatever their own clocks say.
 *
 * Keys, under the store's prefix P (default `snakepit:`):
 *   P sessions            sorted set: live user session ids, scored by expiresAt (ms)
 *   P internal-sessions   sorted set: the same for the workers' internal sessions
 *   P session:<id>        hash: created, accessed, expires, ttl, internal (1/0), metadata (JSON)
 *   P state:<id>          hash: the session's state, one JSON value per key
 *   P globals             hash: global entries, one JSON value per key
 *   P stats               hash: expired (sessions seen to expire, all processes together)
 * `session:<id>` and `state:<id>` carry the session's expiry as a Redis TTL (PEXPIREAT), moved on
 * every access. The sorted sets count live sessions exactly (scores past now are expired, whether
 * or not Redis has dropped the key yet), so no counter can drift when Redis expires a key.
 */

export interface KeyLayout {
  /** The fixed keys every session script receives, in order: users, internals, stats. */
  readonly indexKeys: readonly [string, string, string];
  readonly globals: string;
  session(id: string): string;
  state(id: string): string;
}

export function keyLayout(prefix: string): KeyLayout {
  return {
    indexKeys: [`${prefix}sessions`, `${prefix}internal-sessions`, `${prefix}stats`],
    globals: `${prefix}globals`,
    session: (id) => `${prefix}session:${id}`,
    state: (id) => `${prefix}state:${id}`,
  };
}

// Shared by every session script: KEYS[1] users, KEYS[2] internals, KEYS[3] stats (then, for the
// scripts about one session, KEYS[4] its session hash and KEYS[5] its state hash).
const prelude = `
local users, internals, stats = KEYS[1], KEYS[2], KEYS[3]

local function int(number)
  return string.format('%.0f', number)
end

local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- The prefix, from KEYS[1] (which is "<prefix>sessions"): a client's own ioredis keyPrefix is
-- part of it, so keys built here match the ones ioredis built.
local function base()
  return string.sub(users, 1, #users - #'sessions')
end

-- Index entries of sessions past their expiry go, counted as expired.
local function prune(now)
  local dropped = redis.call('ZREMRANGEBYSCORE', users, '-inf', int(now))
    + redis.call('ZREMRANGEBYSCORE', internals, '-inf', int(now))
  if dropped > 0 then redis.call('HINCRBY', stats, 'expired', dropped) end
end

-- The session's fields when it is live; nil otherwise, after removing what is left of it (an
-- index entry, or a key in the millisecond before Redis drops it), counting an expiry once.
local function live(session_key, state_key, id, now)
  local fields = redis.call('HMGET', session_key, 'created', 'expires', 'ttl', 'internal', 'metadata')
  if fields[1] and tonumber(fields[2]) > now then return fields end
  if fields[1] then redis.call('DEL', session_key, state_key) end
  local index = users
  local score = redis.call('ZSCORE', users, id)
  if not score then
    index = internals
    score = redis.call('ZSCORE', internals, id)
  end
  if score then
    redis.call('ZREM', index, id)
    if tonumber(score) <= now then redis.call('HINCRBY', stats, 'expired', 1) end
  end
  return nil
end

local function index_of(fields)
  if fields[4] == '1' then return internals end
  return users
end

-- Moves the session's expiry (keys and index) to now + its TTL; returns the new expiry.
local function touch(session_key, state_key, fields, id, now)
  local expires = now + tonumber(fields[3])
  redis.call('HSET', session_key, 'accessed', int(now), 'expires', int(expires))
  redis.call('PEXPIREAT', session_key, int(expires))
  redis.call('PEXPIREAT', state_key, int(expires))
  redis.call('ZADD', index_of(fields), int(expires), id)
  return expires
end
`;

/** A script and the number of its KEYS, as `defineCommand` takes them. */
export interface ScriptDefinition {
  readonly numberOfKeys: number;
  readonly lua: string;
}

const sessionScript = (body: string): ScriptDefinition => ({ numberOfKeys: 5, lua: `${prelude}\n${body}` });

/**
 * The scripts, by the command name they get on the client. Replies are arrays whose first element
 * is a status: 'ok', 'missing', 'not_found', or a quota tag followed by limit and current.
 */
export const scripts = {
  // ARGV: id, ttl, internal (1/0), metadata JSON, maxSessions
  snakepitSessionCreate: sessionScript(`
local id, ttl, internal, metadata, max = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local now = now_ms()
local fields = live(KEYS[4], KEYS[5], id, now)
if fields then
  local expires = touch(KEYS[4], KEYS[5], fields, id, now)
  return {'ok', tonumber(fields[1]), now, expires, fields[5]}
end
prune(now)
local index = users
if internal == '1' then
  index = internals
else
  local current = redis.call('ZCARD', users)
  if current >= max then return {'session_quota', max, current} end
end
local expires = now + ttl
redis.call('DEL', KEYS[5])
redis.call('HSET', KEYS[4], 'created', int(now), 'accessed', int(now), 'expires', int(expires), 'ttl', int(ttl), 'internal', internal, 'metadata', metadata)
redis.call('PEXPIREAT', KEYS[4], int(expires))
redis.call('ZADD', index, int(expires), id)
return {'ok', now, now, expires, metadata}
`),

  // ARGV: id. Touches the session (get and touch are the same operation).
  snakepitSessionTouch: sessionScript(`
local id = ARGV[1]
local now = now_ms()
local fields = live(KEYS[4], KEYS[5], id, now)
if not fields then return {'missing'} end
local expires = touch(KEYS[4], KEYS[5], fields, id, now)
return {'ok', tonumber(fields[1]), now, expires, fields[5]}
`),

  // ARGV: id
  snakepitSessionDelete: sessionScript(`
local id = ARGV[1]
local fields = live(KEYS[4], KEYS[5], id, now_ms())
if not fields then return {'missing'} end
redis.call('DEL', KEYS[4], KEYS[5])
redis.call('ZREM', index_of(fields), id)
return {'ok'}
`),

  // ARGV: id, key
  snakepitStateGet: sessionScript(`
local id, key = ARGV[1], ARGV[2]
local now = now_ms()
local fields = live(KEYS[4], KEYS[5], id, now)
if not fields then return {'not_found'} end
touch(KEYS[4], KEYS[5], fields, id, now)
return {'ok', redis.call('HGET', KEYS[5], key)}
`),

  // ARGV: id, key, value JSON, maxEntriesPerSession. Internal sessions are not limited.
  snakepitStateSet: sessionScript(`
local id, key, value, max = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local now = now_ms()
local fields = live(KEYS[4], KEYS[5], id, now)
if not fields then return {'not_found'} end
local expires = touch(KEYS[4], KEYS[5], fields, id, now)
if fields[4] ~= '1' and redis.call('HEXISTS', KEYS[5], key) == 0 then
  local current = redis.call('HLEN', KEYS[5])
  if current >= max then return {'entry_quota', max, current} end
end
redis.call('HSET', KEYS[5], key, value)
redis.call('PEXPIREAT', KEYS[5], int(expires))
return {'ok'}
`),

  // ARGV: id, key
  snakepitStateDelete: sessionScript(`
local id, key = ARGV[1], ARGV[2]
local now = now_ms()
local fields = live(KEYS[4], KEYS[5], id, now)
if not fields then return {'not_found'} end
touch(KEYS[4], KEYS[5], fields, id, now)
return {'ok', redis.call('HDEL', KEYS[5], key)}
`),

  // KEYS: globals. ARGV: key, value JSON, maxGlobalEntries
  snakepitGlobalSet: {
    numberOfKeys: 1,
    lua: `
local key, value, max = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('HEXISTS', KEYS[1], key) == 0 then
  local current = redis.call('HLEN', KEYS[1])
  if current >= max then return {'global_quota', max, current} end
end
redis.call('HSET', KEYS[1], key, value)
return {'ok'}
`,
  },

  // KEYS: users, internals, stats. ARGV: include internal (1/0). Reply: id, created, accessed,
  // expires, metadata, five per live session. O(sessions).
  snakepitSessionList: {
    numberOfKeys: 3,
    lua: `${prelude}
local now = now_ms()
prune(now)
local indexes = {users}
if ARGV[1] == '1' then indexes[2] = internals end
local prefix = base() .. 'session:'
local reply = {}
for _, index in ipairs(indexes) do
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local fields = redis.call('HMGET', prefix .. id, 'created', 'accessed', 'expires', 'metadata')
    if fields[1] and tonumber(fields[3]) > now then
      reply[#reply + 1] = id
      reply[#reply + 1] = tonumber(fields[1])
      reply[#reply + 1] = tonumber(fields[2])
      reply[#reply + 1] = tonumber(fields[3])
      reply[#reply + 1] = fields[4]
    end
  end
end
return reply
`,
  },

  // KEYS: users, internals, stats, globals. Reply: sessions, internal sessions, session entries,
  // global entries, expired. O(sessions).
  snakepitSessionStats: {
    numberOfKeys: 4,
    lua: `${prelude}
local now = now_ms()
prune(now)
local prefix = base() .. 'state:'
local entries = 0
for _, index in ipairs({users, internals}) do
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    entries = entries + redis.call('HLEN', prefix .. id)
  end
end
local expired = tonumber(redis.call('HGET', stats, 'expired') or '0')
return {redis.call('ZCARD', users), redis.call('ZCARD', internals), entries, redis.call('HLEN', KEYS[4]), expired}
`,
  },
} satisfies Record<string, ScriptDefinition>;

export type ScriptName = keyof typeof scripts;
