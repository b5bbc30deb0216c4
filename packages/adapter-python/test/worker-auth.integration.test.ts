/**
 * The worker refuses every call without the right bearer token with UNAUTHENTICATED, on every RPC
 * and for every wrong shape of the header, and never runs the tool of a refused call. One real
 * Python worker, called directly over gRPC (no pool in front to add or fix the header).
 */
import { describe, expect, it } from 'vitest';
import { Code, ConnectError, create, ExecuteToolRequestSchema, toBinary } from '@snakepit/sdk/testing';
import { envelope, rawGrpcCall } from './support/raw-grpc.js';
import { callTimeoutMs, json, useRawWorker } from './support/raw-worker.js';

const worker = useRawWorker();


describe('a raw gRPC client without the right token', () => {
  const badAuthorizations = (token: string): Array<[string, Record<string, string>]> => [
    ['no authorization header', {}],
    ['empty authorization', { authorization: '' }],
    ['"Bearer"', { authorization: 'Bearer' }],
    ['"Bearer "', { authorization: 'Bearer ' }],
    ['another token', { authorization: `Bearer ${'0'.repeat(token.length)}` }],
    ['the token without "Bearer "', { authorization: token }],
    ['lowercase bearer', { authorization: `bearer ${token}` }],
    ['uppercase BEARER', { authorization: `BEARER ${token}` }],
    ['two spaces', { authorization: `Bearer  ${token}` }],
    ['trailing space', { authorization: `Bearer ${token} ` }],
    ['truncated token', { authorization: `Bearer ${token.slice(0, -1)}` }],
    ['token plus a character', { authorization: `Bearer ${token}0` }],
    ['token uppercased', { authorization: `Bearer ${token.toUpperCase()}` }],
    ['Basic scheme', { authorization: `Basic ${Buffer.from(`user:${token}`).toString('base64')}` }],
    ['token under another header', { 'x-authorization': `Bearer ${token}` }],
  ];

  async function expectUnauthenticated(label: string, call: () => Promise<unknown>): Promise<void> {
    let caught: unknown;
    try {
      await call();
    } catch (error) {
      caught = error;
    }
    expect(caught, `${label}: the call succeeded`).toBeInstanceOf(ConnectError);
    expect(Code[(caught as ConnectError).code], label).toBe('Unauthenticated');
  }

  it('gets UNAUTHENTICATED on every RPC, for every wrong shape of the header', async () => {
    for (const [label, headers] of badAuthorizations(worker.token)) {
      const options = { headers, timeoutMs: callTimeoutMs };
      const call = { toolName: 'add', jsonParameters: { a: json(1), b: json(2) } };
      await expectUnauthenticated(`Ping, ${label}`, () => worker.client.ping({ message: 'x' }, options));
      await expectUnauthenticated(`ExecuteTool, ${label}`, () => worker.client.executeTool({ call }, options));
      await expectUnauthenticated(`ExecuteStreamingTool, ${label}`, async () => {
        for await (const _chunk of worker.client.executeStreamingTool({ call }, options)) {
          // Nothing may arrive before the refusal.
          throw new Error(`${label}: a chunk arrived`);
        }
      });
      await expectUnauthenticated(`DescribeTools, ${label}`, () => worker.client.describeTools({}, options));
      await expectUnauthenticated(`BeginSession, ${label}`, () => worker.client.beginSession({ sessionId: 's' }, options));
      await expectUnauthenticated(`EndSession, ${label}`, () => worker.client.endSession({ sessionId: 's' }, options));
    }
    await worker.expectServing();
  });

  it('never runs the tool of a refused call', async () => {
    const before = await worker.counterValue('auth-fuzz');
    const call = { toolName: 'counter', jsonParameters: { name: json('auth-fuzz') } };
    for (const [label, headers] of badAuthorizations(worker.token)) {
      const options = { headers, timeoutMs: callTimeoutMs };
      await expectUnauthenticated(label, () => worker.client.executeTool({ call }, options));
      await expectUnauthenticated(label, async () => {
        for await (const _chunk of worker.client.executeStreamingTool({ call }, options)) throw new Error('chunk');
      });
    }
    expect(await worker.counterValue('auth-fuzz')).toBe(before);
    // The right token does run it.
    await worker.client.executeTool({ call }, worker.auth);
    expect(await worker.counterValue('auth-fuzz')).toBe(before + 1);
  });

  it('gets grpc-status 16 over bare HTTP/2 too (no client library in between)', async () => {
    const body = envelope(
      toBinary(ExecuteToolRequestSchema, create(ExecuteToolRequestSchema, { call: { toolName: 'add' } })),
    );
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: worker.token }]) {
      const response = await rawGrpcCall(worker.target, 'ExecuteTool', body, headers);
      expect(response.grpcStatus, JSON.stringify(headers)).toBe(Code.Unauthenticated);
      expect(response.messages).toHaveLength(0);
    }
    await worker.expectServing();
  });
});

