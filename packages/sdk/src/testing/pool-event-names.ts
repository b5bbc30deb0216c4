/** Every pool event name, for tests that record all of a pool's events. */
import type { PoolEventName } from '../observability/events.js';

// A record, so that an event added to PoolEvents and missing here fails to compile.
const everyEvent = {
  'call:start': true,
  'call:end': true,
  'call:error': true,
  'call:refused': true,
  'queue:enter': true,
  'queue:leave': true,
  'worker:spawn': true,
  'worker:ready': true,
  'worker:exit': true,
  'worker:recycle': true,
  'worker:unresponsive': true,
  'worker:startup_failed': true,
  'pool:saturated': true,
  heartbeat: true,
} satisfies Record<PoolEventName, true>;

/** The names of every event a pool emits (`pool.on(name, listener)`), in a fixed order. */
export const poolEventNames: readonly PoolEventName[] = Object.freeze(Object.keys(everyEvent) as PoolEventName[]);
