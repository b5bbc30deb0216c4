/**
 * ToolError wire messages become SnakepitErrors here, and only here. The message, the traceback and
 * every string in the details are scrubbed on the way in: a Python exception often quotes the values
 * it choked on (`KeyError: 'api_key=...'`, a repr of the arguments), and errors end up in logs,
 * error trackers and span events. `details.kind` (invalid_input, out_of_memory, ...) is kept.
 */
import { createTextScrubber } from '@snakepit/redaction';
import type { ErrorCode, ToolError } from '../gen/snakepit/bridge/v1/common_pb.js';
import { SnakepitError, type SnakepitErrorCode } from '../errors.js';
import { errorCodeName, errorCodeValue } from './error-code.js';
import { parseJson } from './tool-value.js';

const scrub = createTextScrubber();
/** Details are small JSON from the worker; deeper than this is not worth walking. */
const maxDetailsDepth = 8;

function scrubStrings(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrub(value);
  if (typeof value !== 'object' || value === null || depth >= maxDetailsDepth) return value;
  if (Array.isArray(value)) return value.map((item) => scrubStrings(item, depth + 1));
  const scrubbed: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) scrubbed[key] = scrubStrings(item, depth + 1);
  return scrubbed;
}

const passThroughCodes = new Set<SnakepitErrorCode>([
  'python_error',
  'invalid_parameter',
  'unknown_tool',
  'session_quota_exceeded',
  'session_entry_quota_exceeded',
  'global_entry_quota_exceeded',
  'session_not_found',
  'session_store_unavailable',
  'host_tool_error',
  'unauthenticated',
  // The worker's own guard of a call's deadline (the call channel's timeout_ms).
  'timeout',
  // A call channel answer above the message limit, refused by the worker before sending it.
  'transport_error',
  // A worker run as a service refused the call for want of room (GrpcWorker makes it a refusal).
  'worker_busy',
]);

function parseDetails(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length === 0) return {};
  try {
    const details = scrubStrings(parseJson(bytes), 0);
    return typeof details === 'object' && details !== null && !Array.isArray(details)
      ? (details as Record<string, unknown>)
      : { value: details };
  } catch {
    return {};
  }
}

export function fromToolError(error: ToolError, context: Record<string, unknown> = {}): SnakepitError {
  const name = errorCodeName(error.code) as SnakepitErrorCode | undefined;
  const code = name !== undefined && passThroughCodes.has(name) ? name : 'python_error';
  const details = { ...parseDetails(error.detailsJson), ...context };
  return new SnakepitError(code, scrub(error.message), {
    details,
    ...(error.pythonType ? { pythonType: error.pythonType } : {}),
    ...(error.traceback ? { pythonTraceback: scrub(error.traceback) } : {}),
  });
}

export function toToolError(error: SnakepitError): {
  code: ErrorCode;
  message: string;
  detailsJson: Uint8Array;
} {
  return { code: errorCodeValue(error.code), message: error.message, detailsJson: Buffer.from(JSON.stringify(error.details), 'utf8') };
}
