/**
 * Values on the wire (PROTOCOL.md §7 and §11): a call's arguments in, results, chunks and errors
 * out. JSON travels as UTF-8 bytes per parameter, binary as raw bytes; a failure is a `ToolError`
 * message, never a gRPC status.
 */
import { create } from '@bufbuild/protobuf';
import { ErrorCode, ToolErrorSchema, ToolValueSchema } from '../gen/snakepit/bridge/v1/common_pb.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextEncoder();

/** The wire's `ErrorCode` for a code's text form: "invalid_parameter" is ERROR_CODE_INVALID_PARAMETER. */
export function errorCode(name) {
  const code = ErrorCode[name.toUpperCase()];
  return typeof code === 'number' ? code : ErrorCode.INTERNAL;
}

/** The text form of a wire `ErrorCode`, as the pool and logs show it. */
export function errorCodeName(code) {
  return (ErrorCode[code] ?? 'UNSPECIFIED').toLowerCase();
}

/** A failure with a Snakepit error code (invalid_parameter, unknown_tool, timeout, ...). */
export class ToolFailure extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'ToolFailure';
    this.code = code;
    this.details = details;
  }
}

export function invalidParameter(key, reason) {
  return new ToolFailure('invalid_parameter', `invalid parameter "${key}": ${reason}`, { key, reason });
}

export function encodeJson(value) {
  return utf8.encode(JSON.stringify(value ?? null) ?? 'null');
}

export function decodeJson(bytes) {
  return JSON.parse(strictUtf8.decode(bytes));
}

/** A `ToolCall`'s parameters as one plain object: JSON documents parsed, bytes as `Uint8Array`. */
export function decodeArguments(call) {
  const args = {};
  for (const [key, bytes] of Object.entries(call.jsonParameters)) {
    // An own "__proto__" key would replace the object's prototype instead of becoming a value.
    if (key === '__proto__') throw invalidParameter(key, 'reserved name');
    if (Object.hasOwn(call.binaryParameters, key)) throw invalidParameter(key, 'present in both json_parameters and binary_parameters');
    let text;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      throw invalidParameter(key, 'not valid UTF-8');
    }
    try {
      args[key] = JSON.parse(text);
    } catch (error) {
      throw invalidParameter(key, `invalid JSON: ${error.message}`);
    }
  }
  for (const [key, bytes] of Object.entries(call.binaryParameters)) {
    if (key === '__proto__') throw invalidParameter(key, 'reserved name');
    args[key] = bytes;
  }
  return args;
}

/** A result or chunk payload: bytes stay bytes, anything else is one JSON document. */
export function toToolValue(value) {
  if (value instanceof Uint8Array) return create(ToolValueSchema, { kind: { case: 'binary', value } });
  return create(ToolValueSchema, { kind: { case: 'json', value: encodeJson(value) } });
}

/** Bytes a value will take on the wire, to refuse an answer the call channel could not carry. */
export function toolValueBytes(value) {
  return value?.kind.value?.byteLength ?? 0;
}

/**
 * Any thrown value as a `ToolError`. A `ToolFailure` keeps its code; anything else the tool threw
 * is reported like a raised Python exception (`python_error`, the pool's code for "the tool
 * failed"), with the error's name as its type and its stack as the traceback.
 */
export function toToolError(error) {
  if (error instanceof ToolFailure) {
    return create(ToolErrorSchema, { code: errorCode(error.code), message: error.message, detailsJson: encodeJson(error.details) });
  }
  const thrown = error instanceof Error ? error : new Error(String(error));
  const details = { kind: 'error' };
  // A failed host call that the tool let escape says what the host answered.
  if (thrown.name === 'HostError' && 'code' in thrown && typeof thrown.code === 'string') details.host_error_code = thrown.code;
  return create(ToolErrorSchema, {
    code: ErrorCode.PYTHON_ERROR,
    message: thrown.message || thrown.name,
    pythonType: thrown.name,
    traceback: thrown.stack ?? '',
    detailsJson: encodeJson(details),
  });
}
