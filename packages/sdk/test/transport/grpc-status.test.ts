import { describe, expect, it } from 'vitest';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Code } from '@connectrpc/connect';
import { decodeGrpcMessage, encodeTimeout, errorFromStatus, headersFromNode } from '../../src/transport/grpc-status.js';

describe('decodeGrpcMessage', () => {
  it('percent-decodes UTF-8 and keeps undecodable sequences', () => {
    expect(decodeGrpcMessage('plain')).toBe('plain');
    expect(decodeGrpcMessage('100%25 %E2%9C%93')).toBe('100% ✓');
    expect(decodeGrpcMessage('bad %zz and %E2%9C and %41')).toBe('bad %zz and %E2%9C and A');
    expect(decodeGrpcMessage(undefined)).toBe('');
  });
});

describe('encodeTimeout', () => {
  it('uses milliseconds up to 8 digits, then coarser units rounded up', () => {
    expect(encodeTimeout(30_000)).toBe('30000m');
    expect(encodeTimeout(0.2)).toBe('1m');
    expect(encodeTimeout(99_999_999)).toBe('99999999m');
    expect(encodeTimeout(100_000_000)).toBe('100000S');
    expect(encodeTimeout(1e14)).toBe('27777778H');
    expect(encodeTimeout(1e18)).toBe('99999999H');
  });
});

describe('errorFromStatus', () => {
  it('returns undefined for OK and an error with header and trailer metadata otherwise', () => {
    expect(errorFromStatus({ 'grpc-status': '0' }, {})).toBeUndefined();
    const error = errorFromStatus({ 'grpc-status': '5', 'grpc-message': 'gone%21', 'x-t': '1' }, { 'x-h': '2', ':status': 200 } as never);
    expect(error?.code).toBe(Code.NotFound);
    expect(error?.rawMessage).toBe('gone!');
    expect(error?.metadata.get('x-t')).toBe('1');
    expect(error?.metadata.get('x-h')).toBe('2');
  });

  it('treats an unknown code as Internal', () => {
    expect(errorFromStatus({ 'grpc-status': '99' }, undefined)?.code).toBe(Code.Internal);
    expect(errorFromStatus({ 'grpc-status': 'x' }, undefined)?.code).toBe(Code.Internal);
  });

  it('prefers rich details from grpc-status-details-bin', () => {
    // google.rpc.Status { code = 1; message = 2; details = 3 (google.protobuf.Any) }, written by hand.
    const detail = new BinaryWriter().tag(1, 2).string('type.googleapis.com/x.Y').tag(2, 2).bytes(new Uint8Array([1])).finish();
    const status = new BinaryWriter().tag(1, 0).int32(Code.InvalidArgument).tag(2, 2).string('rich').tag(3, 2).bytes(detail).finish();
    const encoded = Buffer.from(status).toString('base64').replace(/=+$/, '');
    const error = errorFromStatus({ 'grpc-status': '3', 'grpc-message': 'plain', 'grpc-status-details-bin': encoded }, undefined);
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toBe('rich');
    expect(error?.details).toEqual([{ type: 'x.Y', value: new Uint8Array([1]) }]);
  });
});

describe('headersFromNode', () => {
  it('drops pseudo-headers and keeps repeated values', () => {
    const headers = headersFromNode({ ':status': 200, 'set-cookie': ['a=1', 'b=2'], 'x-one': 'v' } as never);
    expect([...new Set(headers.keys())]).toEqual(['set-cookie', 'x-one']);
    expect(headers.get('x-one')).toBe('v');
    expect(headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });
});
