import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ToolErrorSchema } from '../../src/gen/snakepit/bridge/v1/common_pb.js';
import { errorCodeName, errorCodeValue } from '../../src/wire/error-code.js';
import { fromToolError, toToolError } from '../../src/wire/tool-error.js';
import { SnakepitError } from '../../src/errors.js';

const secret = 'hunter2-secret';
const encoder = new TextEncoder();

describe('fromToolError', () => {
  it('keeps type, kind and traceback, with secrets scrubbed from message, traceback and details', () => {
    const error = fromToolError(
      create(ToolErrorSchema, {
        code: ErrorCode.PYTHON_ERROR,
        message: `could not log in with {'password': '${secret}'}`,
        pythonType: 'ValueError',
        traceback: [
          'Traceback (most recent call last):',
          '  File "/app/tools.py", line 3, in login',
          `ValueError: could not log in with {'password': '${secret}'}`,
        ].join('\n'),
        detailsJson: encoder.encode(JSON.stringify({ kind: 'invalid_input', notes: [`token=${secret}`] })),
      }),
      { tool: 'login', workerId: 'w1' },
    );
    expect(error).toMatchObject({
      code: 'python_error',
      pythonType: 'ValueError',
      message: "could not log in with {'password': '[REDACTED]'}",
      details: { kind: 'invalid_input', notes: ['token=[REDACTED]'], tool: 'login', workerId: 'w1' },
    });
    expect(error.pythonTraceback).toContain('File "/app/tools.py", line 3, in login');
    expect(JSON.stringify({ ...error, message: error.message, traceback: error.pythonTraceback })).not.toContain(secret);
  });

  it('leaves an error without secrets byte for byte', () => {
    const error = fromToolError(
      create(ToolErrorSchema, { code: ErrorCode.PYTHON_ERROR, message: 'bad', pythonType: 'ValueError', traceback: 'Traceback\nValueError: bad\n' }),
    );
    expect(error.message).toBe('bad');
    expect(error.pythonTraceback).toBe('Traceback\nValueError: bad\n');
    expect(error.details).toEqual({});
  });
});

describe('error codes on the wire', () => {
  it('maps every proto ErrorCode to its text form and back', () => {
    const values = Object.values(ErrorCode).filter((value): value is ErrorCode => typeof value === 'number');
    expect(values.length).toBeGreaterThan(20);
    for (const value of values) {
      const name = errorCodeName(value);
      if (value === ErrorCode.UNSPECIFIED) {
        expect(name).toBeUndefined();
        continue;
      }
      expect(name).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(errorCodeValue(name!)).toBe(value);
    }
    expect(errorCodeName(ErrorCode.INVALID_PARAMETER)).toBe('invalid_parameter');
    expect(errorCodeValue('no_such_code')).toBe(ErrorCode.UNSPECIFIED);
  });

  it('believes the codes a worker may report and reads anything else as python_error', () => {
    const invalid = fromToolError(create(ToolErrorSchema, { code: ErrorCode.INVALID_PARAMETER, message: 'bad key' }));
    expect(invalid.code).toBe('invalid_parameter');
    // A worker cannot claim the pool's own failures, nor send a code this version does not know.
    for (const code of [ErrorCode.POOL_CLOSED, ErrorCode.UNSPECIFIED, 999 as ErrorCode]) {
      expect(fromToolError(create(ToolErrorSchema, { code, message: 'x' })).code).toBe('python_error');
    }
  });

  it('sends a host error as its ErrorCode', () => {
    const wire = toToolError(new SnakepitError('session_not_found', 'gone', { details: { sessionId: 's' } }));
    expect(wire.code).toBe(ErrorCode.SESSION_NOT_FOUND);
    expect(JSON.parse(Buffer.from(wire.detailsJson).toString('utf8'))).toEqual({ sessionId: 's' });
  });
});
