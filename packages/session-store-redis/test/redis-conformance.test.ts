/** The Redis store against the SessionStore conformance suite, on a real redis-server. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineSessionStoreConformanceSuite } from '@snakepit/sdk/testing';
import { redisSessionStore } from '../src/index.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

/** Every store gets its own prefix: a new, empty namespace on the one server. */
const freshPrefix = () => `conformance:${randomUUID()}:`;

defineSessionStoreConformanceSuite(
  {
    name: 'redis',
    createStore: (settings) => redisSessionStore({ url: redis.url, keyPrefix: freshPrefix(), ...settings }),
    async createSharedStores(settings) {
      const keyPrefix = freshPrefix();
      // Two stores, two connections: what two Node processes would hold.
      return [redisSessionStore({ url: redis.url, keyPrefix, ...settings }), redisSessionStore({ url: redis.url, keyPrefix, ...settings })];
    },
  },
  { describe, it, beforeAll, afterAll, expect },
);
