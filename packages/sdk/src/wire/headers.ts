/** gRPC metadata names shared by both directions of the bridge (Python uses the same names). */

/** Carries the per-pool secret as "Bearer <token>". */
export const authorizationHeader = 'authorization';

/** Ties one call's log lines and events together on both sides. */
export const correlationHeader = 'x-snakepit-correlation-id';

/**
 * Names one connection's call channel (random, never logged) on the channel and on every call RPC
 * of that connection, so a worker run as a service sends those calls' host requests back on it.
 */
export const hostLinkHeader = 'x-snakepit-host-link';
