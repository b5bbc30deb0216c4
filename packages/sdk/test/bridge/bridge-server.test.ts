import http2 from 'node:http2';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostToolContext } from '../../src/tools/host-tool-registry.js';
import { callFailure, fromUtf8, startBridgeFixture, utf8, type BridgeFixture } from './bridge-fixture.js';
import { startBridgeServer } from '../../src/bridge/bridge-server.js';
import { ErrorCode } from '../../src/gen/snakepit/bridge/v1/common_pb.js';
import { errorCodeName } from '../../src/wire/error-code.js';

const fixtures: BridgeFixture[] = [];
async function fixture(options: Parameters<typeof startBridgeFixture>[0] = {}): Promise<BridgeFixture> {
  const started = await startBridgeFixture(options);
  fixtures.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((started) => started.close()));
});

describe('host bridge: transport and authentication', () => {
  it('listens on loopback on an OS-assigned port', async () => {
    const { bridge } = await fixture();
    expect(bridge.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Number(bridge.address.split(':')[1])).toBeGreaterThan(0);
  });

  it('refuses calls without a token or with a wrong one', async () => {
    const { client, token } = await fixture();
    const attempts = [
      {},
      { headers: { authorization: 'Bearer wrong' } },
      { headers: { authorization: `Bearer ${token}x` } },
      { headers: { authorization: token } },
      { headers: { authorization: `bearer ${token}` } },
    ];
    for (const options of attempts) {
      const failure = await callFailure(client.heartbeat({ workerId: 'w1' }, options));
      expect(failure.grpcCode).toBe(Code.Unauthenticated);
      expect(failure.snakepitCode).toBe('unauthenticated');
    }
    const failure = await callFailure(client.executeHostTool({ call: { toolName: 'x' } }));
    expect(failure.grpcCode).toBe(Code.Unauthenticated);
  });

  it('refuses to start without a token', async () => {
    const started = await fixture();
    await expect(
      startBridgeServer({ sessions: started.sessions, tools: started.tools, workerTools: started.workerTools, token: '' }),
    ).rejects.toMatchObject({ code: 'invalid_parameter' });
  });

  it('survives bytes that are not a protobuf message', async () => {
    const { bridge, client, auth } = await fixture();
    const connection = http2.connect(`http://${bridge.address}`);
    try {
      const status = await new Promise<string | undefined>((resolve, reject) => {
        const stream = connection.request({
          ':method': 'POST',
          ':path': '/snakepit.bridge.v1.HostService/Heartbeat',
          'content-type': 'application/grpc',
          te: 'trailers',
          authorization: auth.headers.authorization!,
        });
        let grpcStatus: string | undefined;
        stream.on('response', (headers) => (grpcStatus ??= headers['grpc-status'] as string | undefined));
        stream.on('trailers', (trailers) => (grpcStatus = trailers['grpc-status'] as string | undefined));
        stream.on('error', reject);
        stream.on('close', () => resolve(grpcStatus));
        stream.resume();
        // A gRPC envelope announcing 5 bytes that are not a valid HeartbeatRequest.
        stream.end(Buffer.from([0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff]));
      });
      expect(status).toBeDefined();
      expect(status).not.toBe('0');
    } finally {
      connection.close();
    }
    await expect(client.heartbeat({ workerId: 'w1' }, auth)).resolves.toBeDefined();
  });

  it('closes promptly with an open connection and a tool call in flight, aborting the handler', async () => {
    const { bridge, client, auth, tools } = await fixture({ closeGraceMs: 50 });
    let handlerSignal: AbortSignal | undefined;
    let markStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    tools.register('hang', (_args, context) => {
      handlerSignal = context.signal;
      markStarted();
      return new Promise(() => {});
    });
    const call = client.executeHostTool({ call: { toolName: 'hang' } }, auth).catch((error: unknown) => error);
    await started;
    const before = Date.now();
    await bridge.close();
    await bridge.close();
    expect(Date.now() - before).toBeLessThan(2000);
    expect(handlerSignal?.aborted).toBe(true);
    expect(await call).toBeInstanceOf(ConnectError);
  });
});

describe('host bridge: heartbeats and sessions', () => {
  it('reports heartbeats with the worker id and answers with the server time', async () => {
    const beats: string[] = [];
    const { client, auth } = await fixture({ onHeartbeat: (workerId) => beats.push(workerId) });
    const before = BigInt(Date.now());
    const response = await client.heartbeat({ workerId: 'w7' }, auth);
    expect(response.serverTimeUnixMs).toBeGreaterThanOrEqual(before);
    expect(beats).toEqual(['w7']);
  });

  it('still answers a heartbeat when onHeartbeat throws', async () => {
    const { client, auth } = await fixture({
      onHeartbeat: () => {
        throw new Error('bookkeeping failed');
      },
    });
    await expect(client.heartbeat({ workerId: 'w1' }, auth)).resolves.toBeDefined();
  });

  it('maps session and state operations to the store', async () => {
    const { client, auth, sessions } = await fixture();
    const created = await client.initializeSession({ sessionId: 's1', ttlMs: 5000n, metadata: { user: 'ada' } }, auth);
    expect(created.session?.id).toBe('s1');
    expect(created.session!.expiresAtUnixMs - created.session!.createdAtUnixMs).toBe(5000n);
    expect((await client.getSession({ sessionId: 's1' }, auth)).session?.metadata).toEqual({ user: 'ada' });
    expect((await client.getSession({ sessionId: 'missing' }, auth)).session).toBeUndefined();

    await client.setSessionState({ sessionId: 's1', key: 'k', valueJson: utf8('{"n":1,"list":[1,2.5,"x",null]}') }, auth);
    expect(await sessions.getState('s1', 'k')).toEqual({ n: 1, list: [1, 2.5, 'x', null] });
    const read = await client.getSessionState({ sessionId: 's1', key: 'k' }, auth);
    expect(read.found).toBe(true);
    expect(JSON.parse(fromUtf8(read.valueJson))).toEqual({ n: 1, list: [1, 2.5, 'x', null] });
    expect((await client.getSessionState({ sessionId: 's1', key: 'other' }, auth)).found).toBe(false);
    expect((await client.deleteSessionState({ sessionId: 's1', key: 'k' }, auth)).deleted).toBe(true);
    expect((await client.deleteSessionState({ sessionId: 's1', key: 'k' }, auth)).deleted).toBe(false);

    expect((await client.cleanupSession({ sessionId: 's1' }, auth)).deleted).toBe(true);
    expect((await client.cleanupSession({ sessionId: 's1' }, auth)).deleted).toBe(false);
    const failure = await callFailure(client.getSessionState({ sessionId: 's1', key: 'k' }, auth));
    expect(failure.grpcCode).toBe(Code.NotFound);
    expect(failure.snakepitCode).toBe('session_not_found');
  });

  it('reports quota errors in the snakepit-error-code trailer; internal sessions pass', async () => {
    const { client, auth } = await fixture({ store: { maxSessions: 1, maxEntriesPerSession: 1 } });
    await client.initializeSession({ sessionId: 'a' }, auth);
    const failure = await callFailure(client.initializeSession({ sessionId: 'b' }, auth));
    expect(failure.grpcCode).toBe(Code.ResourceExhausted);
    expect(failure.snakepitCode).toBe('session_quota_exceeded');
    expect(failure.details).toEqual({ limit: 1, current: 1 });
    await expect(client.initializeSession({ sessionId: 'a' }, auth)).resolves.toBeDefined();
    await client.initializeSession({ sessionId: 'worker-w1', metadata: { 'snakepit.internal': 'true' } }, auth);

    await client.setSessionState({ sessionId: 'a', key: 'one', valueJson: utf8('1') }, auth);
    const entries = await callFailure(client.setSessionState({ sessionId: 'a', key: 'two', valueJson: utf8('2') }, auth));
    expect(entries.grpcCode).toBe(Code.ResourceExhausted);
    expect(entries.snakepitCode).toBe('session_entry_quota_exceeded');
    await client.setSessionState({ sessionId: 'worker-w1', key: 'one', valueJson: utf8('1') }, auth);
    await client.setSessionState({ sessionId: 'worker-w1', key: 'two', valueJson: utf8('2') }, auth);
  });

  it('names the field and reason of a malformed request', async () => {
    const { client, auth } = await fixture();
    await client.initializeSession({ sessionId: 's1' }, auth);
    const failure = await callFailure(client.setSessionState({ sessionId: 's1', key: 'k', valueJson: utf8('{oops') }, auth));
    expect(failure.grpcCode).toBe(Code.InvalidArgument);
    expect(failure.snakepitCode).toBe('invalid_parameter');
    expect(failure.details).toEqual({ key: 'value_json', reason: 'invalid JSON at position 1' });
  });
});

describe('host bridge: tools', () => {
  it('records the tools a worker reports, replacing its earlier report', async () => {
    const { client, auth, workerTools } = await fixture();
    const response = await client.registerTools(
      { workerId: 'w1', tools: [{ name: 'embed', description: 'Embeds', parametersJson: utf8('{"type":"object"}') }, { name: 'echo' }] },
      auth,
    );
    expect(response.registered).toEqual(['embed', 'echo']);
    expect(workerTools.forWorker('w1')?.[0]).toMatchObject({ name: 'embed', parameters: { type: 'object' } });
    await client.registerTools({ workerId: 'w1', tools: [{ name: 'echo' }] }, auth);
    expect(workerTools.list().map((tool) => tool.name)).toEqual(['echo']);
    const failure = await callFailure(client.registerTools({ workerId: 'w1', tools: [{ name: 'bad name' }] }, auth));
    expect(failure.details).toEqual({ key: 'tools[0].name', reason: 'invalid_format' });
  });

  it('lists only the host tools exposed to Python', async () => {
    const { client, auth, tools } = await fixture();
    tools.register('lookup', () => null, { description: 'Looks up', parameters: { type: 'object' }, metadata: { v: '1' } });
    tools.register('secret', () => null, { exposeToPython: false });
    const { tools: listed } = await client.listHostTools({}, auth);
    expect(listed.map((tool) => tool.name)).toEqual(['lookup']);
    expect(listed[0]).toMatchObject({ description: 'Looks up', metadata: { v: '1' } });
    expect(JSON.parse(fromUtf8(listed[0]!.parametersJson))).toEqual({ type: 'object' });
  });

  it('executes a host tool: ints stay ints, strings stay strings, bytes stay bytes', async () => {
    const { client, auth, tools } = await fixture();
    let received: Record<string, unknown> = {};
    tools.register('inspect', (args) => {
      received = args;
      return { count: 42, ratio: 0.5, text: '42', nested: { list: [1, null, true] } };
    });
    tools.register('bytes', () => new Uint8Array([0, 1, 255]));
    const response = await client.executeHostTool(
      {
        call: {
          toolName: 'inspect',
          jsonParameters: { n: utf8('7'), s: utf8('"7"'), nested: utf8('{"a":[1,{"b":null}]}') },
          binaryParameters: { blob: new Uint8Array([9, 8, 7]) },
        },
      },
      auth,
    );
    expect(response.error).toBeUndefined();
    expect(response.result?.kind.case).toBe('json');
    expect(fromUtf8(response.result!.kind.value as Uint8Array)).toBe(
      '{"count":42,"ratio":0.5,"text":"42","nested":{"list":[1,null,true]}}',
    );
    expect(received).toEqual({ n: 7, s: '7', nested: { a: [1, { b: null }] }, blob: new Uint8Array([9, 8, 7]) });
    expect(received.blob).toBeInstanceOf(Uint8Array);

    const binary = await client.executeHostTool({ call: { toolName: 'bytes' } }, auth);
    expect(binary.result?.kind).toEqual({ case: 'binary', value: new Uint8Array([0, 1, 255]) });
  });

  it('reports an unknown tool in-band with the available tools', async () => {
    const { client, auth, tools } = await fixture();
    tools.register('b', () => null);
    tools.register('a', () => null);
    const response = await client.executeHostTool({ call: { toolName: 'nope' } }, auth);
    expect(response.error && errorCodeName(response.error.code)).toBe('unknown_tool');
    expect(JSON.parse(fromUtf8(response.error!.detailsJson))).toEqual({ tool: 'nope', available: ['a', 'b'] });
  });

  it('reports a throwing tool, and a result that cannot be sent, in-band', async () => {
    const { client, auth, tools } = await fixture();
    tools.register('boom', async () => {
      throw new TypeError('bad input: expected a number');
    });
    tools.register('bigint', () => ({ big: 1n }));
    const response = await client.executeHostTool({ call: { toolName: 'boom' } }, auth);
    expect(response.error).toMatchObject({ code: ErrorCode.HOST_TOOL_ERROR, message: 'bad input: expected a number' });
    const unsendable = await client.executeHostTool({ call: { toolName: 'bigint' } }, auth);
    expect(unsendable.error && errorCodeName(unsendable.error.code)).toBe('host_tool_error');
    expect(unsendable.error?.message).toMatch(/result\.big/);
  });

  it('hands the session id, correlation id and metadata to the handler', async () => {
    const { client, auth, tools } = await fixture();
    let context: HostToolContext | undefined;
    tools.register('who', (_args, handlerContext) => {
      context = handlerContext;
      return null;
    });
    await client.executeHostTool(
      { call: { toolName: 'who', sessionId: 'session-9', metadata: { origin: 'test' } } },
      { headers: { ...auth.headers, 'x-snakepit-correlation-id': 'corr-1' } },
    );
    expect(context).toMatchObject({ sessionId: 'session-9', correlationId: 'corr-1', metadata: { origin: 'test' } });
    await client.executeHostTool({ call: { toolName: 'who' } }, auth);
    expect(context?.sessionId).toBeUndefined();
    expect(context?.correlationId).toBeUndefined();
  });

  it("fires the handler's signal when the caller cancels", async () => {
    const { client, auth, tools } = await fixture();
    let markStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const sawAbort = new Promise<boolean>((resolve) => {
      tools.register('wait', (_args, { signal }) => {
        markStarted();
        return new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            resolve(true);
            reject(new Error('cancelled'));
          });
        });
      });
    });
    const controller = new AbortController();
    const call = client.executeHostTool({ call: { toolName: 'wait' } }, { ...auth, signal: controller.signal });
    await started;
    controller.abort();
    expect((await callFailure(call)).grpcCode).toBe(Code.Canceled);
    expect(await sawAbort).toBe(true);
    await expect(client.heartbeat({ workerId: 'w1' }, auth)).resolves.toBeDefined();
  });
});
