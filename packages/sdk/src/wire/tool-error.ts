/** ToolError wire messages become SnakepitErrors here, and only here. */
import type { ToolError } from '../gen/snakepit/bridge/v1/common_pb.js';
import { SnakepitError, type SnakepitErrorCode } from '../errors.js';
import { parseJson } from './tool-value.js';

const passThroughCodes = new Set<SnakepitErrorCode>([
  'python_error',
  'invalid_parameter',
  'unknown_tool',
  'session_quota_exceeded',
  'session_entry_quota_exceeded',
  'global_entry_quota_exceeded',
  'session_not_found',
  'host_tool_error',
  'unauthenticated',
]);

function parseDetails(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length === 0) return {};
  try {
    const details = parseJson(bytes);
    return typeof details === 'object' && details !== null && !Array.isArray(details)
      ? (details as Record<string, unknown>)
      : { value: details };
  } catch {
    return {};
  }
}

export function fromToolError(error: ToolError, context: Record<string, unknown> = {}): SnakepitError {
  const code = passThroughCodes.has(error.code as SnakepitErrorCode) ? (error.code as SnakepitErrorCode) : 'python_error';
  const details = { ...parseDetails(error.detailsJson), ...context };
  return new SnakepitError(code, error.message, {
    details,
    ...(error.pythonType ? { pythonType: error.pythonType } : {}),
    ...(error.traceback ? { pythonTraceback: error.traceback } : {}),
  });
}

export function toToolError(error: SnakepitError): {
  code: string;
  message: string;
  detailsJson: Uint8Array;
} {
  return { code: error.code, message: error.message, detailsJson: Buffer.from(JSON.stringify(error.details), 'utf8') };
}
