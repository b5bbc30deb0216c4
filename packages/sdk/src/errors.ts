/**
 * One error type for every failure the sdk reports. `code` is stable and meant for `switch`;
 * `details` carries structured context; `cause` keeps the underlying error.
 *
 * `isInstance` uses a `Symbol.for` marker so it works across duplicated package copies.
 */
import type { ErrorCode } from './gen/snakepit/bridge/v1/common_pb.js';

const marker = Symbol.for('snakepit.error');

/**
 * The stable codes of `SnakepitError`, one per value of the proto's `ErrorCode` (its name without
 * `ERROR_CODE_`, in lower case) except `host_bridge_unavailable`, which only Python sees. See the
 * README's Errors section for what each means.
 */
export type SnakepitErrorCode = Lowercase<Exclude<keyof typeof ErrorCode, 'UNSPECIFIED' | 'HOST_BRIDGE_UNAVAILABLE'>>;

export interface SnakepitErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
  pythonType?: string;
  pythonTraceback?: string;
}

export class SnakepitError extends Error {
  readonly [marker] = true;
  readonly code: SnakepitErrorCode;
  readonly details: Record<string, unknown>;
  /** The Python exception class, for errors raised in Python. */
  readonly pythonType?: string;
  /** The Python traceback, for errors raised in Python. */
  readonly pythonTraceback?: string;

  constructor(code: SnakepitErrorCode, message: string, options: SnakepitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SnakepitError';
    this.code = code;
    this.details = options.details ?? {};
    if (options.pythonType !== undefined) this.pythonType = options.pythonType;
    if (options.pythonTraceback !== undefined) this.pythonTraceback = options.pythonTraceback;
  }

  static isInstance(value: unknown): value is SnakepitError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }

  /** True when `value` is a SnakepitError with the given code. */
  static hasCode(value: unknown, code: SnakepitErrorCode): value is SnakepitError {
    return SnakepitError.isInstance(value) && value.code === code;
  }
}

/** Named factories, so every place that raises a given failure words it the same way. */
export const errors = {
  invalidParameter(key: string, reason: string, cause?: unknown): SnakepitError {
    return new SnakepitError('invalid_parameter', `invalid parameter "${key}": ${reason}`, {
      details: { key, reason },
      cause,
    });
  },
  poolClosed(): SnakepitError {
    return new SnakepitError('pool_closed', 'the pool is closed');
  },
  poolSaturated(maxQueue: number): SnakepitError {
    return new SnakepitError('pool_saturated', `all workers are busy and the queue is full (maxQueue ${maxQueue})`, {
      details: { maxQueue },
    });
  },
  queueTimeout(waitedMs: number): SnakepitError {
    return new SnakepitError('queue_timeout', `no worker became free within ${waitedMs} ms`, {
      details: { waitedMs },
    });
  },
  timeout(timeoutMs: number, tool: string): SnakepitError {
    return new SnakepitError('timeout', `call to "${tool}" exceeded its ${timeoutMs} ms deadline`, {
      details: { timeoutMs, tool },
    });
  },
  aborted(tool: string, reason?: unknown): SnakepitError {
    return new SnakepitError('aborted', `call to "${tool}" was aborted`, { details: { tool }, cause: reason });
  },
  workerExit(workerId: string, exit: { code: number | null; signal: string | null; reason?: string }): SnakepitError {
    if (exit.reason !== undefined) {
      return new SnakepitError('worker_exit', `worker ${workerId} is gone during the call: ${exit.reason}`, {
        details: { workerId, reason: exit.reason },
      });
    }
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
    return new SnakepitError('worker_exit', `worker ${workerId} exited (${how}) during the call`, {
      details: { workerId, exitCode: exit.code, signal: exit.signal },
    });
  },
  workerBusy(sessionId: string, workerId: string): SnakepitError {
    return new SnakepitError('worker_busy', `the worker of session "${sessionId}" is busy`, {
      details: { sessionId, workerId },
    });
  },
  /**
   * A worker refused a call for want of capacity (a remote worker other pools share), before it
   * ran: the pool puts such a call back and the caller never sees this error.
   */
  workerRefused(workerId: string, reason: string, message: string): SnakepitError {
    return new SnakepitError('worker_busy', message, { details: { workerId, reason, refusedByWorker: true } });
  },
  startupFailed(message: string, options: SnakepitErrorOptions = {}): SnakepitError {
    return new SnakepitError('startup_failed', message, options);
  },
  transport(message: string, cause?: unknown, details?: Record<string, unknown>): SnakepitError {
    return new SnakepitError('transport_error', message, { cause, details });
  },
  workerUnresponsive(workerId: string, missedHeartbeats: number): SnakepitError {
    return new SnakepitError(
      'worker_unresponsive',
      `worker ${workerId} stopped answering heartbeats (${missedHeartbeats} missed) and was replaced`,
      { details: { workerId, missedHeartbeats } },
    );
  },
  /** The pool has no ready worker and its latest start attempts failed; carries the last start error's text. */
  noWorkerCouldStart(lastError: SnakepitError): SnakepitError {
    return new SnakepitError('startup_failed', `no worker could start: ${lastError.message}`, {
      details: { ...lastError.details },
      cause: lastError,
      ...(lastError.pythonType !== undefined ? { pythonType: lastError.pythonType } : {}),
      ...(lastError.pythonTraceback !== undefined ? { pythonTraceback: lastError.pythonTraceback } : {}),
    });
  },
  unknownTool(tool: string): SnakepitError {
    return new SnakepitError('unknown_tool', `no tool named "${tool}"`, { details: { tool } });
  },
  /**
   * A shared session store (Redis, a database) did not answer `operation` in time or could not be
   * reached; `cause` is the client's error. Only calls that need the store fail with it.
   */
  sessionStoreUnavailable(operation: string, cause?: unknown, details: Record<string, unknown> = {}): SnakepitError {
    const text = cause instanceof Error ? cause.message : cause === undefined ? '' : String(cause);
    return new SnakepitError('session_store_unavailable', `the session store is unavailable (${operation})${text === '' ? '' : `: ${text}`}`, {
      details: { operation, ...details },
      cause,
    });
  },
  /** An adapter broke its contract by failing with something other than a SnakepitError. */
  adapterFailure(operation: string, cause: unknown): SnakepitError {
    const text = cause instanceof Error ? cause.message : String(cause);
    return new SnakepitError('internal', `adapter failed during ${operation}: ${text}`, {
      details: { operation },
      cause,
    });
  },
} as const;

/**
 * Factories for sessions, host tools and the host bridge. A separate object (rather than more
 * entries in `errors`) so this file can grow by appending only.
 */
export const hostErrors = {
  sessionQuotaExceeded(limit: number, current: number): SnakepitError {
    return new SnakepitError('session_quota_exceeded', `session quota exceeded: ${current} of ${limit} sessions in use`, {
      details: { limit, current },
    });
  },
  sessionEntryQuotaExceeded(sessionId: string, limit: number, current: number): SnakepitError {
    return new SnakepitError(
      'session_entry_quota_exceeded',
      `session "${sessionId}" holds ${current} of ${limit} state entries; delete one before adding another`,
      { details: { sessionId, limit, current } },
    );
  },
  globalEntryQuotaExceeded(limit: number, current: number): SnakepitError {
    return new SnakepitError('global_entry_quota_exceeded', `global entry quota exceeded: ${current} of ${limit} entries in use`, {
      details: { limit, current },
    });
  },
  sessionNotFound(sessionId: string): SnakepitError {
    return new SnakepitError('session_not_found', `no session "${sessionId}" (never created, deleted, or expired)`, {
      details: { sessionId },
    });
  },
  sessionStoreClosed(): SnakepitError {
    return new SnakepitError('pool_closed', 'the session store is closed');
  },
  toolRegistrationFailed(name: string, reason: string, message: string): SnakepitError {
    return new SnakepitError('tool_registration_failed', message, { details: { name, reason } });
  },
  /** Worded like the Python dispatcher's unknown_tool, so both sides read the same. */
  unknownHostTool(tool: string, available: string[]): SnakepitError {
    const listing = available.length > 0 ? available.join(', ') : '(none)';
    return new SnakepitError('unknown_tool', `unknown host tool "${tool}"; available host tools: ${listing}`, {
      details: { tool, available },
    });
  },
  hostToolFailed(tool: string, cause: unknown): SnakepitError {
    const text = cause instanceof Error ? cause.message : String(cause);
    const errorName = cause instanceof Error ? cause.name : typeof cause;
    return new SnakepitError('host_tool_error', text === '' ? `host tool "${tool}" failed` : text, {
      details: { tool, errorName },
      cause,
    });
  },
  hostToolResultUnencodable(tool: string, reason: string, cause?: unknown): SnakepitError {
    return new SnakepitError('host_tool_error', `host tool "${tool}" returned a value that cannot be sent: ${reason}`, {
      details: { tool, reason },
      cause,
    });
  },
  unauthenticated(): SnakepitError {
    return new SnakepitError('unauthenticated', 'missing or invalid authorization token');
  },
  internal(message: string, cause?: unknown): SnakepitError {
    return new SnakepitError('internal', message, { cause });
  },
} as const;
