/**
 * How bridge failures travel: a gRPC status a generic client understands, plus trailers that let
 * the worker rebuild the exact SnakepitError (`snakepit-error-code`, and the details as base64
 * JSON in `snakepit-error-details-bin`, which gRPC clients decode to bytes by the -bin rule).
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { hostErrors, SnakepitError, type SnakepitErrorCode } from '../errors.js';
import type { Logger } from '../observability/logging.js';

export const errorCodeTrailer = 'snakepit-error-code';
export const errorDetailsTrailer = 'snakepit-error-details-bin';

/** Details larger than this are left out of the trailer: HTTP/2 header blocks are small. */
const maxDetailsTrailerBytes = 8192;

/** The part of a pino-shaped logger the bridge uses. */
export type BridgeLogger = Pick<Logger, 'debug' | 'warn' | 'error'>;

const grpcCodes: Partial<Record<SnakepitErrorCode, Code>> = {
  invalid_parameter: Code.InvalidArgument,
  session_quota_exceeded: Code.ResourceExhausted,
  session_entry_quota_exceeded: Code.ResourceExhausted,
  global_entry_quota_exceeded: Code.ResourceExhausted,
  session_not_found: Code.NotFound,
  unknown_tool: Code.NotFound,
  unauthenticated: Code.Unauthenticated,
  tool_registration_failed: Code.FailedPrecondition,
  aborted: Code.Canceled,
  timeout: Code.DeadlineExceeded,
  pool_closed: Code.Unavailable,
  // The worker may retry later: the store (e.g. Redis) is down or slow, not the host bridge.
  session_store_unavailable: Code.Unavailable,
};

export function grpcCodeOf(code: SnakepitErrorCode): Code {
  return grpcCodes[code] ?? Code.Internal;
}

function detailsTrailer(details: Record<string, unknown>): string | undefined {
  try {
    const json = Buffer.from(JSON.stringify(details), 'utf8');
    return json.length > maxDetailsTrailerBytes ? undefined : json.toString('base64');
  } catch {
    return undefined;
  }
}

export function toConnectError(error: SnakepitError): ConnectError {
  const trailers = new Headers({ [errorCodeTrailer]: error.code });
  const details = detailsTrailer(error.details);
  if (details !== undefined) trailers.set(errorDetailsTrailer, details);
  return new ConnectError(error.message, grpcCodeOf(error.code), trailers, undefined, error);
}

/**
 * Any failure escaping a handler, as the ConnectError sent to the worker. Failures that are not
 * SnakepitErrors are bugs: they are logged here and reported as `internal` without their text,
 * which may hold anything.
 */
export function translateFailure(error: unknown, method: string, logger: BridgeLogger): ConnectError {
  if (SnakepitError.isInstance(error)) {
    if (error.code === 'internal') logger.error({ method, err: error.cause ?? error }, 'host bridge internal error');
    else logger.debug({ method, code: error.code, details: error.details }, 'host bridge call refused');
    return toConnectError(error);
  }
  if (error instanceof ConnectError && error.metadata.has(errorCodeTrailer)) return error;
  if (error instanceof ConnectError && (error.code === Code.Canceled || error.code === Code.DeadlineExceeded)) {
    // The worker went away or its deadline passed; nobody reads this reply.
    return error;
  }
  logger.error({ method, err: error }, 'host bridge handler failed unexpectedly');
  return toConnectError(hostErrors.internal('internal error in the host bridge', error));
}
