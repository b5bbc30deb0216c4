/**
 * Error codes between their wire form (the proto's `ErrorCode`) and their text form
 * (`SnakepitError.code`): the value's name without `ERROR_CODE_`, in lower case.
 */
import { ErrorCode } from '../gen/snakepit/bridge/v1/common_pb.js';

/** The text form of a wire code; `undefined` for UNSPECIFIED and for values this version does not know. */
export function errorCodeName(code: ErrorCode): string | undefined {
  const name = ErrorCode[code] as string | undefined;
  return name === undefined || code === ErrorCode.UNSPECIFIED ? undefined : name.toLowerCase();
}

/** The wire form of a text code; UNSPECIFIED for a text that names no code. */
export function errorCodeValue(name: string): ErrorCode {
  const value = (ErrorCode as unknown as Record<string, ErrorCode | undefined>)[name.toUpperCase()];
  return typeof value === 'number' ? value : ErrorCode.UNSPECIFIED;
}
