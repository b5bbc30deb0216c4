/** The in-memory store against the SessionStore conformance suite, on real (short) TTLs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemorySessionStore } from '../../src/session/memory-session-store.js';
import { defineSessionStoreConformanceSuite } from '../../src/testing/session-store-conformance.js';

defineSessionStoreConformanceSuite(
  {
    name: 'in-memory',
    // The sweep timer off: expiry must hold on access alone (the timer is covered by its own test).
    createStore: (settings) => createMemorySessionStore({ ...settings, sweepIntervalMs: 0 }),
  },
  { describe, it, beforeAll, afterAll, expect },
);
