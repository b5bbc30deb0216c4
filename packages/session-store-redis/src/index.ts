/** `@snakepit/session-store-redis`: a SessionStore on Redis, shared by many Node processes. */
export { redisSessionStore } from './redis-session-store.js';
export { redisSessionStoreDefaults, type RedisSessionStoreOptions } from './options.js';
