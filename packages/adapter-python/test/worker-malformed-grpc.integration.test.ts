/**
 * Below the tool-call layer: requests that are not even valid protobuf or valid gRPC framing get a
 * gRPC status, not silence (a call half-closed without a complete message is answered at its
 * deadline: grpcio never answers it), and the worker keeps serving. One real Python worker, called
 * over bare HTTP/2 (no client library in between): spawned as a pool spawns it, and run as a service
 * reached over TLS (bad input from the network).
 */
import { describe, expect, it } from 'vitest';
import {
  Code,
  ConnectError,
  create,
  ExecuteToolRequestSchema,
  ExecuteToolResponseSchema,
  fromBinary,
  toBinary,
} from '@snakepit/sdk/testing';
import { envelope, rawGrpcCall, wire } from './support/raw-grpc.js';
import { json, useRawWorker, verbose } from './support/raw-worker.js';

for (const served of [false, true]) {
  describe(`requests that are not even well-formed gRPC messages (${served ? 'a worker run as a service, over TLS' : 'a spawned worker'})`, () => {
    const worker = useRawWorker({ served });

    const authorization = () => ({ authorization: `Bearer ${worker.token}` });
    /** ExecuteToolRequest { call: ToolCall { <fields> } } by hand. */
    const toolCallRequest = (...fields: number[][]) => new Uint8Array(wire.field(1, fields.flat()));
    const addRequest = () =>
      envelope(
        toBinary(
          ExecuteToolRequestSchema,
          create(ExecuteToolRequestSchema, { call: { toolName: 'add', jsonParameters: { a: json(1), b: json(1) } } }),
        ),
      );

    /** Complete frames whose payload is not a valid request: grpcio answers at once. */
    const undecodable: Array<[string, () => Uint8Array]> = [
      ['random bytes', () => envelope(new Uint8Array(64).map((_, index) => (index * 97 + 13) % 256))],
      ['a truncated message', () => envelope(toolCallRequest(wire.field(1, wire.utf8('add'))).subarray(0, 3))],
      ['invalid UTF-8 in tool_name', () => envelope(toolCallRequest(wire.field(1, [0x61, 0xff, 0xfe])))],
      ['invalid UTF-8 in session_id', () => envelope(toolCallRequest(wire.field(1, wire.utf8('add')), wire.field(2, [0xc3, 0x28])))],
      [
        'invalid UTF-8 in a parameter name',
        () =>
          envelope(
            toolCallRequest(wire.field(1, wire.utf8('echo')), wire.field(3, [...wire.field(1, [0xff]), ...wire.field(2, wire.utf8('1'))])),
          ),
      ],
      [
        'invalid UTF-8 in a metadata value',
        () =>
          envelope(
            toolCallRequest(
              wire.field(1, wire.utf8('add')),
              wire.field(5, [...wire.field(1, wire.utf8('k')), ...wire.field(2, [0xed, 0xa0, 0x80])]),
            ),
          ),
      ],
    ];

    /** Frames grpcio tolerates: the call goes through and gets an ordinary (typed) answer. */
    const tolerated: Array<[string, () => Uint8Array]> = [
      ['the compressed flag without grpc-encoding', () => envelope(toolCallRequest(wire.field(1, wire.utf8('add'))), 1)],
      ['two request messages on a unary call', () => Buffer.concat([envelope(toolCallRequest()), envelope(toolCallRequest())])],
    ];

    /**
     * The client half-closes without one complete message. grpcio's aio server then never runs the
     * handler and never sends a status (its unary handlers return silently when no message came),
     * so only the call's deadline ends it. Every sdk call carries one (grpc-timeout).
     */
    const incomplete: Array<[string, () => Uint8Array]> = [
      ['no request message at all', () => new Uint8Array()],
      ['a partial length prefix', () => new Uint8Array([0, 0])],
      ['a length prefix larger than the body', () => envelope(toolCallRequest(wire.field(1, wire.utf8('add'))), 0, 1000)],
    ];

    const methods = ['ExecuteTool', 'ExecuteStreamingTool'] as const;

    async function raw(method: string, body: Uint8Array, headers: Record<string, string>) {
      const response = await rawGrpcCall(worker.target, method, body, headers);
      if (verbose) console.log(`${method} ${JSON.stringify(Object.keys(headers))} -> ${JSON.stringify({ ...response, messages: response.messages.length })}`);
      return response;
    }

    it('refuses undecodable requests with an error status at once, and keeps serving', async () => {
      for (const [label, body] of undecodable) {
        for (const method of methods) {
          const started = Date.now();
          const response = await raw(method, body(), { ...authorization(), 'grpc-timeout': '5S' });
          expect(response.grpcStatus, `${method} with ${label}`).toBeDefined();
          expect(response.grpcStatus, `${method} with ${label}: ${response.grpcMessage}`).not.toBe(Code.DeadlineExceeded);
          expect(response.grpcStatus, `${method} with ${label}`).not.toBe(0);
          expect(response.messages, `${method} with ${label}`).toHaveLength(0);
          expect(Date.now() - started, `${method} with ${label}`).toBeLessThan(2000);
        }
        await worker.addOk(1, 2);
      }
      await worker.expectServing();
    });

    it('answers tolerated framing oddities with an ordinary typed result', async () => {
      for (const [label, body] of tolerated) {
        const response = await raw('ExecuteTool', body(), { ...authorization(), 'grpc-timeout': '5S' });
        expect(response.grpcStatus, label).toBeDefined();
        if (response.grpcStatus === 0) {
          expect(response.messages, label).toHaveLength(1);
          // These requests carry no valid arguments for "add": never a success.
          expect(fromBinary(ExecuteToolResponseSchema, response.messages[0]!).error?.code, label).toBeTruthy();
        }
        await worker.addOk(1, 2);
      }
      await worker.expectServing();
    });

    it('ends half-closed calls without a complete message at their deadline, and keeps serving', async () => {
      for (const [label, body] of incomplete) {
        for (const method of methods) {
          const response = await raw(method, body(), { ...authorization(), 'grpc-timeout': '300m' });
          expect(response.grpcStatus, `${method} with ${label}`).toBe(Code.DeadlineExceeded);
        }
      }
      await worker.expectServing();
    });

    it('refuses bodies from a client without the token (never OK, never a response message)', async () => {
      const bodies = [addRequest(), ...undecodable.map(([, body]) => body())];
      for (const body of bodies) {
        for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
          const response = await raw('ExecuteTool', body, { ...headers, 'grpc-timeout': '5S' });
          // The token is checked from the headers, before the body is read or parsed.
          expect(response.grpcStatus).toBe(Code.Unauthenticated);
          expect(response.messages).toHaveLength(0);
        }
      }
      // A 16 MiB body is refused from its headers, at once, without being read.
      const startedAt = Date.now();
      const refusal = await worker.client
        .executeTool(
          { call: { toolName: 'add', jsonParameters: { a: new Uint8Array(16 * 1024 * 1024).fill(0x31) } } },
          { headers: { authorization: 'Bearer wrong' }, timeoutMs: 10_000 },
        )
        .then(
          () => undefined,
          (error: unknown) => ConnectError.from(error),
        );
      expect(refusal?.code).toBe(Code.Unauthenticated);
      expect(Date.now() - startedAt).toBeLessThan(5_000);
      await worker.expectServing();
    });

    it('answers an unknown method with UNIMPLEMENTED', async () => {
      const response = await raw('RunArbitraryCode', envelope(new Uint8Array()), { ...authorization(), 'grpc-timeout': '5S' });
      expect(response.grpcStatus).toBe(Code.Unimplemented);
      await worker.expectServing();
    });

    it('survives oversized call headers (correlation id, traceparent, many headers) with an answer, not a crash', async () => {
      for (const headers of [
        { 'x-snakepit-correlation-id': 'c'.repeat(64 * 1024) },
        { traceparent: `00-${'f'.repeat(20_000)}-01` },
        Object.fromEntries(Array.from({ length: 500 }, (_, index) => [`x-junk-${index}`, 'j'.repeat(100)])),
      ]) {
        const response = await raw('ExecuteTool', addRequest(), { ...authorization(), 'grpc-timeout': '5S', ...headers });
        // Refused by the gRPC core (a status or a stream reset) or served; never silence.
        expect(response.grpcStatus !== undefined || response.streamError !== undefined).toBe(true);
        expect(response.grpcStatus).not.toBe(Code.DeadlineExceeded);
        await worker.expectServing();
      }
    });
  });
}
