import { getEventListeners } from 'node:events';
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { createHostRequestHandler, type HostAnswer, type HostRequest, type HostRequestHandler } from '../../src/bridge/host-requests.js';
import { ErrorCode } from '../../src/gen/snakepit/bridge/v1/common_pb.js';
import {
  CleanupSessionRequestSchema,
  CleanupSessionResponseSchema,
  DeleteSessionStateRequestSchema,
  DeleteSessionStateResponseSchema,
  ExecuteHostToolRequestSchema,
  ExecuteHostToolResponseSchema,
  GetSessionRequestSchema,
  GetSessionResponseSchema,
  GetSessionStateRequestSchema,
  GetSessionStateResponseSchema,
  HeartbeatRequestSchema,
  InitializeSessionRequestSchema,
  InitializeSessionResponseSchema,
  ListHostToolsRequestSchema,
  ListHostToolsResponseSchema,
  RegisterToolsRequestSchema,
  SetSessionStateRequestSchema,
  SetSessionStateResponseSchema,
} from '../../src/gen/snakepit/bridge/v1/host_pb.js';
import { createMemorySessionStore, type MemorySessionStore } from '../../src/session/memory-session-store.js';
import { createMemoryLogger, type MemoryLogger } from '../../src/testing/memory-logger.js';
import { createHostToolRegistry, type HostToolContext, type HostToolRegistry } from '../../src/tools/host-tool-registry.js';
import { createWorkerToolCatalog } from '../../src/tools/worker-tool-catalog.js';
import { correlationHeader } from '../../src/wire/headers.js';

const utf8 = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), 'utf8');
const fromUtf8 = (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString('utf8'));

interface Fixture {
  handle: HostRequestHandler;
  sessions: MemorySessionStore;
  tools: HostToolRegistry;
  logger: MemoryLogger;
  /** Sends one request, its payload serialized from `message` with `schema`. */
  send<S extends DescMessage>(
    method: string,
    schema: S,
    message: MessageInitShape<S>,
    options?: { headers?: Record<string, string>; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<HostAnswer>;
}

const stores: MemorySessionStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

function fixture(): Fixture {
  const sessions = createMemorySessionStore({ sweepIntervalMs: 0 });
  stores.push(sessions);
  const tools = createHostToolRegistry();
  const logger = createMemoryLogger();
  const handle = createHostRequestHandler({ sessions, tools, workerTools: createWorkerToolCatalog(), logger });
  return {
    handle,
    sessions,
    tools,
    logger,
    send(method, schema, message, options = {}) {
      const request: HostRequest = {
        method,
        payload: toBinary(schema, create(schema, message)),
        headers: options.headers ?? {},
        timeoutMs: options.timeoutMs ?? 0,
      };
      return handle(request, options.signal ?? new AbortController().signal);
    },
  };
}

/** A successful answer's payload, decoded. */
function okPayload<S extends DescMessage>(answer: HostAnswer, schema: S) {
  expect(answer.statusCode ?? 0).toBe(0);
  expect(answer.payload).toBeInstanceOf(Uint8Array);
  return fromBinary(schema, answer.payload!);
}

function errorDetails(answer: HostAnswer): Record<string, unknown> {
  expect(answer.errorDetailsJson).toBeInstanceOf(Uint8Array);
  return fromUtf8(answer.errorDetailsJson!) as Record<string, unknown>;
}

describe('host requests on the call channel', () => {
  it('round-trips session state through SetSessionState and GetSessionState', async () => {
    const { send, sessions } = fixture();
    okPayload(await send('InitializeSession', InitializeSessionRequestSchema, { sessionId: 's1' }), InitializeSessionResponseSchema);
    const value = { counter: 3, nested: { list: [1, 'two', null], flag: true }, text: 'ünïcødé' };
    const set = await send('SetSessionState', SetSessionStateRequestSchema, { sessionId: 's1', key: 'k', valueJson: utf8(value) });
    okPayload(set, SetSessionStateResponseSchema);
    // It reached the very store the pool uses.
    expect(await sessions.getState('s1', 'k')).toEqual(value);

    const got = okPayload(await send('GetSessionState', GetSessionStateRequestSchema, { sessionId: 's1', key: 'k' }), GetSessionStateResponseSchema);
    expect(got.found).toBe(true);
    expect(fromUtf8(got.valueJson)).toEqual(value);

    const absent = okPayload(await send('GetSessionState', GetSessionStateRequestSchema, { sessionId: 's1', key: 'nope' }), GetSessionStateResponseSchema);
    expect(absent.found).toBe(false);
    expect(absent.valueJson.length).toBe(0);
  });

  it('serves the other session methods and ListHostTools', async () => {
    const { send, tools } = fixture();
    tools.register('visible', () => 1, { description: 'shown' });
    tools.register('hidden', () => 2, { exposeToPython: false });
    const init = okPayload(
      await send('InitializeSession', InitializeSessionRequestSchema, { sessionId: 's2', metadata: { team: 'a' } }),
      InitializeSessionResponseSchema,
    );
    expect(init.session?.id).toBe('s2');
    const session = okPayload(await send('GetSession', GetSessionRequestSchema, { sessionId: 's2' }), GetSessionResponseSchema);
    expect(session.session?.metadata).toEqual({ team: 'a' });
    await send('SetSessionState', SetSessionStateRequestSchema, { sessionId: 's2', key: 'k', valueJson: utf8(1) });
    const deleted = okPayload(
      await send('DeleteSessionState', DeleteSessionStateRequestSchema, { sessionId: 's2', key: 'k' }),
      DeleteSessionStateResponseSchema,
    );
    expect(deleted.deleted).toBe(true);
    const listed = okPayload(await send('ListHostTools', ListHostToolsRequestSchema, {}), ListHostToolsResponseSchema);
    expect(listed.tools.map((tool) => tool.name)).toEqual(['visible']);
    const cleaned = okPayload(await send('CleanupSession', CleanupSessionRequestSchema, { sessionId: 's2' }), CleanupSessionResponseSchema);
    expect(cleaned.deleted).toBe(true);
    const gone = okPayload(await send('GetSession', GetSessionRequestSchema, { sessionId: 's2' }), GetSessionResponseSchema);
    expect(gone.session).toBeUndefined();
  });

  it('answers a missing session with NotFound and the session_not_found trailer', async () => {
    const { send } = fixture();
    for (const [method, schema, message] of [
      ['GetSessionState', GetSessionStateRequestSchema, { sessionId: 'ghost', key: 'k' }],
      ['SetSessionState', SetSessionStateRequestSchema, { sessionId: 'ghost', key: 'k', valueJson: utf8(1) }],
    ] as const) {
      const answer = await send(method, schema as DescMessage, message as never);
      expect(answer.payload).toBeUndefined();
      expect(answer.statusCode).toBe(Code.NotFound);
      expect(answer.statusCode).toBe(5);
      expect(answer.errorCode).toBe('session_not_found');
      expect(answer.statusMessage).toContain('ghost');
      expect(errorDetails(answer)).toEqual({ sessionId: 'ghost' });
    }
  });

  it('answers a payload that is no message of the method with InvalidArgument (invalid_parameter)', async () => {
    const { handle } = fixture();
    // A field tag with wire type 7 does not exist; a truncated varint cannot be read.
    for (const payload of [new Uint8Array([0x0f, 0x01]), new Uint8Array([0x08, 0xff, 0xff])]) {
      const answer = await handle({ method: 'GetSessionState', payload, headers: {}, timeoutMs: 0 }, new AbortController().signal);
      expect(answer.statusCode).toBe(Code.InvalidArgument);
      expect(answer.errorCode).toBe('invalid_parameter');
      expect(errorDetails(answer)).toMatchObject({ key: 'payload' });
      expect(answer.statusMessage).toContain('snakepit.bridge.v1.GetSessionStateRequest');
    }
  });

  it('answers a well-formed message with a malformed field with InvalidArgument naming the field', async () => {
    const { send } = fixture();
    await send('InitializeSession', InitializeSessionRequestSchema, { sessionId: 's3' });
    const badJson = await send('SetSessionState', SetSessionStateRequestSchema, { sessionId: 's3', key: 'k', valueJson: utf8('x').subarray(1) });
    expect(badJson.statusCode).toBe(Code.InvalidArgument);
    expect(badJson.errorCode).toBe('invalid_parameter');
    expect(errorDetails(badJson)).toMatchObject({ key: 'value_json' });
    const badId = await send('GetSessionState', GetSessionStateRequestSchema, { sessionId: '', key: 'k' });
    expect(badId.statusCode).toBe(Code.InvalidArgument);
    expect(badId.errorCode).toBe('invalid_parameter');
  });

  it('refuses unknown methods and the worker housekeeping methods as Unimplemented', async () => {
    const { handle } = fixture();
    const cases: Array<[string, Uint8Array]> = [
      ['NoSuchMethod', new Uint8Array()],
      ['Heartbeat', toBinary(HeartbeatRequestSchema, create(HeartbeatRequestSchema, { workerId: 'w1' }))],
      ['RegisterTools', toBinary(RegisterToolsRequestSchema, create(RegisterToolsRequestSchema, { workerId: 'w1' }))],
      ['', new Uint8Array()],
      // Method names are matched exactly, not by local name or case.
      ['getSessionState', new Uint8Array()],
      ['x'.repeat(10_000), new Uint8Array()],
    ];
    for (const [method, payload] of cases) {
      const answer = await handle({ method, payload, headers: {}, timeoutMs: 0 }, new AbortController().signal);
      expect(answer.statusCode).toBe(Code.Unimplemented);
      expect(answer.payload).toBeUndefined();
      expect(answer.errorCode).toBe('');
      // A long name is cut short in the message.
      expect(answer.statusMessage!.length).toBeLessThan(200);
    }
  });

  it('hands ExecuteHostTool the correlation id header, session and arguments, and returns its result', async () => {
    const { send, tools } = fixture();
    const seen: HostToolContext[] = [];
    tools.register('add', (args, context) => {
      seen.push(context);
      return { sum: Number(args.a) + Number(args.b) };
    });
    await send('InitializeSession', InitializeSessionRequestSchema, { sessionId: 's4' });
    const answer = await send(
      'ExecuteHostTool',
      ExecuteHostToolRequestSchema,
      { call: { toolName: 'add', sessionId: 's4', jsonParameters: { a: utf8(2), b: utf8(40) }, metadata: { m: 'v' } } },
      { headers: { [correlationHeader]: 'corr-123', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
    );
    const response = okPayload(answer, ExecuteHostToolResponseSchema);
    expect(response.error).toBeUndefined();
    expect(response.result?.kind.case).toBe('json');
    expect(fromUtf8(response.result!.kind.value as Uint8Array)).toEqual({ sum: 42 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.correlationId).toBe('corr-123');
    expect(seen[0]!.sessionId).toBe('s4');
    expect(seen[0]!.metadata).toEqual({ m: 'v' });
  });

  it('reports a failing or unknown host tool in-band, as a ToolError in a successful answer', async () => {
    const { send, tools } = fixture();
    tools.register('boom', () => {
      throw new RangeError('out of range');
    });
    const failed = okPayload(await send('ExecuteHostTool', ExecuteHostToolRequestSchema, { call: { toolName: 'boom' } }), ExecuteHostToolResponseSchema);
    expect(failed.error?.code).toBe(ErrorCode.HOST_TOOL_ERROR);
    expect(failed.error?.message).toBe('out of range');
    const unknown = okPayload(await send('ExecuteHostTool', ExecuteHostToolRequestSchema, { call: { toolName: 'nope' } }), ExecuteHostToolResponseSchema);
    expect(unknown.error?.code).toBe(ErrorCode.UNKNOWN_TOOL);
  });

  it('aborts a long host tool when the request signal fires, and still answers', async () => {
    const { send, tools } = fixture();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let toolSignal: AbortSignal | undefined;
    tools.register('forever', (_args, context) => {
      toolSignal = context.signal;
      started();
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => reject(new Error('stopped by the signal')), { once: true });
      });
    });
    const controller = new AbortController();
    const answering = send('ExecuteHostTool', ExecuteHostToolRequestSchema, { call: { toolName: 'forever' } }, { signal: controller.signal });
    await running;
    expect(toolSignal!.aborted).toBe(false);
    controller.abort(new Error('the channel broke'));
    const answer = await answering;
    expect(toolSignal!.aborted).toBe(true);
    // Nobody reads it, but the handler must not hang: it resolves with the tool's failure.
    const response = okPayload(answer, ExecuteHostToolResponseSchema);
    expect(response.error?.code).toBe(ErrorCode.HOST_TOOL_ERROR);
  });

  it("bounds a host tool by the request's timeoutMs", async () => {
    const { send, tools } = fixture();
    let toolSignal: AbortSignal | undefined;
    tools.register('slow', (_args, context) => {
      toolSignal = context.signal;
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => reject(new Error('deadline')), { once: true });
      });
    });
    const startedAt = Date.now();
    const answer = await send('ExecuteHostTool', ExecuteHostToolRequestSchema, { call: { toolName: 'slow' } }, { timeoutMs: 50 });
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect(toolSignal!.aborted).toBe(true);
    expect(okPayload(answer, ExecuteHostToolResponseSchema).error).toBeDefined();
  });

  it('a finished host request leaves nothing behind on the shared channel signal', async () => {
    // The call channel passes one signal, alive as long as the channel, to every host request.
    const { send } = fixture();
    await send('InitializeSession', InitializeSessionRequestSchema, { sessionId: 's5' });
    const channel = new AbortController();
    for (let request = 0; request < 50; request += 1) {
      const answer = await send('GetSessionState', GetSessionStateRequestSchema, { sessionId: 's5', key: 'k' }, { signal: channel.signal, timeoutMs: 60_000 });
      expect(answer.statusCode ?? 0).toBe(0);
    }
    expect(getEventListeners(channel.signal, 'abort')).toHaveLength(0);
  });

  it('a finished host request with a timeout leaves no timer running', async () => {
    const { send } = fixture();
    await send('InitializeSession', InitializeSessionRequestSchema, { sessionId: 's6' });
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    for (let request = 0; request < 20; request += 1) {
      await send('GetSessionState', GetSessionStateRequestSchema, { sessionId: 's6', key: 'k' }, { timeoutMs: 600_000 });
    }
    expect(timers() - before).toBeLessThan(5);
  });
});
