/** gRPC metadata names shared by both directions of the bridge (Python uses the same names). */

/** Carries the per-pool secret as "Bearer <token>". */
export const authorizationHeader = 'authorization';

/** Ties one call's log lines and events together on both sides. */
export const correlationHeader = 'x-snakepit-correlation-id';
