import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ToolErrorSchema } from '../../src/gen/snakepit/bridge/v1/common_pb.js';
import { fromToolError } from '../../src/wire/tool-error.js';

const secret = 'hunter2-secret';
const encoder = new TextEncoder();

describe('fromToolError', () => {
  it('keeps type, kind and traceback, with secrets scrubbed from message, traceback and details', () => {
    const error = fromToolError(
      create(ToolErrorSchema, {
        code: 'python_error',
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
      create(ToolErrorSchema, { code: 'python_error', message: 'bad', pythonType: 'ValueError', traceback: 'Traceback\nValueError: bad\n' }),
    );
    expect(error.message).toBe('bad');
    expect(error.pythonTraceback).toBe('Traceback\nValueError: bad\n');
    expect(error.details).toEqual({});
  });
});
