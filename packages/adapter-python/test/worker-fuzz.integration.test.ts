/**
 * The worker half of "malformed requests get typed errors and the server keeps serving": one real
 * Python worker, called directly over gRPC (no pool in front to clean anything up).
 *
 * - Calls without the right bearer token are refused with UNAUTHENTICATED, and the tool never runs.
 * - A few hundred malformed ExecuteTool / ExecuteStreamingTool requests from a seeded generator (so
 *   any failure replays exactly) each come back as a ToolError (unary) or a final chunk carrying
 *   one (stream) with a known code: never a transport error, never a hang. Every unary case is
 *   sent twice, as its own RPC and on one shared call channel, and must be refused alike.
 * - Requests that are not even valid protobuf / gRPC get a gRPC status, not silence (a call
 *   half-closed without a complete message is answered at its deadline: grpcio never answers it).
 * - Between batches and at the end the worker still answers `add` correctly and is alive.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolCallSchema, ToolError } from '../../sdk/src/gen/snakepit/bridge/v1/common_pb.js';
import {
  ExecuteToolRequestSchema,
  ExecuteToolResponseSchema,
  type StreamChunk,
} from '../../sdk/src/gen/snakepit/bridge/v1/worker_pb.js';
import { CallChannel } from '../../sdk/src/worker/call-channel.js';
import { isAlive } from './python-under-test.js';
import { envelope, rawGrpcCall, startRawWorker, wire, type RawWorker } from './raw-worker.js';

type ToolCallInit = MessageInitShape<typeof ToolCallSchema>;

const callTimeoutMs = 10_000;
const encoder = new TextEncoder();
const utf8 = (text: string) => encoder.encode(text);
const json = (value: unknown) => utf8(JSON.stringify(value));

let worker: RawWorker;
let auth: { headers: Record<string, string>; timeoutMs: number };
let channel: CallChannel;

beforeAll(async () => {
  worker = await startRawWorker();
  auth = { headers: { authorization: `Bearer ${worker.token}` }, timeoutMs: callTimeoutMs };
  channel = new CallChannel(worker.client, auth.headers);
});

afterAll(async () => {
  if (process.env.FUZZ_VERBOSE === '1') console.log(`worker logs:\n${worker?.logs.join('\n')}`);
  await worker?.stop();
});

/** mulberry32: a tiny deterministic PRNG (same as the bridge-server fuzz). */
function randomSource(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  const integer = (low: number, high: number) => low + Math.floor(next() * (high - low + 1));
  const pick = <T>(items: readonly T[]): T => items[integer(0, items.length - 1)]!;
  const word = (length = integer(1, 12)) =>
    Array.from({ length }, () => pick('abcdefghijklmnopqrstuvwxyz0123456789'.split(''))).join('');
  return { integer, pick, word, coin: () => next() < 0.5 };
}

// ------------------------------------------------------------------------------------------------
// Health: the worker still serves a valid call correctly, and its process is alive.

async function addOk(a: number, b: number): Promise<void> {
  const response = await worker.client.executeTool(
    { call: { toolName: 'add', jsonParameters: { a: json(a), b: json(b) } } },
    auth,
  );
  expect(response.error).toBeUndefined();
  expect(response.result?.kind.case).toBe('json');
  expect(JSON.parse(new TextDecoder().decode(response.result!.kind.value as Uint8Array))).toBe(a + b);
}

async function expectServing(): Promise<void> {
  expect(isAlive(worker.pid), `worker ${worker.pid} died; last logs:\n${worker.logs.slice(-20).join('\n')}`).toBe(true);
  expect(worker.process.hasExited).toBe(false);
  await addOk(40, 2);
  const ping = await worker.client.ping({ message: 'still there?' }, auth);
  expect(ping.message).toBe('still there?');
  expect(ping.info?.pid).toBe(worker.pid);
}

async function counterValue(name: string): Promise<number> {
  const response = await worker.client.executeTool(
    { call: { toolName: 'counter_value', jsonParameters: { name: json(name) } } },
    auth,
  );
  expect(response.error).toBeUndefined();
  return (JSON.parse(new TextDecoder().decode(response.result!.kind.value as Uint8Array)) as { value: number }).value;
}

// ------------------------------------------------------------------------------------------------
// Authentication

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
    await expectServing();
  });

  it('never runs the tool of a refused call', async () => {
    const before = await counterValue('auth-fuzz');
    const call = { toolName: 'counter', jsonParameters: { name: json('auth-fuzz') } };
    for (const [label, headers] of badAuthorizations(worker.token)) {
      const options = { headers, timeoutMs: callTimeoutMs };
      await expectUnauthenticated(label, () => worker.client.executeTool({ call }, options));
      await expectUnauthenticated(label, async () => {
        for await (const _chunk of worker.client.executeStreamingTool({ call }, options)) throw new Error('chunk');
      });
    }
    expect(await counterValue('auth-fuzz')).toBe(before);
    // The right token does run it.
    await worker.client.executeTool({ call }, auth);
    expect(await counterValue('auth-fuzz')).toBe(before + 1);
  });

  it('gets grpc-status 16 over bare HTTP/2 too (no client library in between)', async () => {
    const body = envelope(
      toBinary(ExecuteToolRequestSchema, create(ExecuteToolRequestSchema, { call: { toolName: 'add' } })),
    );
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: worker.token }]) {
      const response = await rawGrpcCall(worker.port, 'ExecuteTool', body, headers);
      expect(response.grpcStatus, JSON.stringify(headers)).toBe(Code.Unauthenticated);
      expect(response.messages).toHaveLength(0);
    }
    await expectServing();
  });
});

// ------------------------------------------------------------------------------------------------
// The fuzz: malformed tool calls with the right token

interface Expectation {
  /** Acceptable ToolError codes. */
  codes: readonly string[];
  /** For python_error: acceptable Python types (unchecked when absent). */
  pythonTypes?: readonly string[];
  /** For invalid_parameter: the key the error must name. */
  key?: string;
  /** For unknown_tool: the name the error must echo. */
  tool?: string;
}

interface Malformed {
  label: string;
  call: ToolCallInit;
  expect: Expectation;
}

interface FuzzCase extends Malformed {
  mode: 'unary' | 'stream';
}

const random = randomSource(0xf022);

const invalidUtf8: readonly number[][] = [
  [0xff],
  [0xc3, 0x28],
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0xfe, 0xfe, 0xff, 0xff],
];
const notJson = [
  '',
  ' ',
  '{',
  '{"a":',
  '[1,2',
  'undefined',
  "{'a':1}",
  '01',
  '"unterminated',
  '{"a":1}}',
  'tru',
  '1 2',
  '\u0000',
  '[1,]',
  '{"a" 1}',
  '0x10',
  '+1',
  '.5',
  '"\\x41"',
  '"\\ud800"x',
  '// comment\n1',
  '\ufeff1',
];
const nanLiterals = ['NaN', 'Infinity', '-Infinity', '[NaN]', '{"a":Infinity}', '[1,-Infinity]', '{"x":[{"y":NaN}]}'];

const invalidParameter = { codes: ['invalid_parameter'] } as const;

/** A parameter name: ordinary, or something odd (every odd name must still be handled). */
function parameterName(): string {
  return random.coin()
    ? random.word()
    : random.pick(['', ' ', 'ü', '😀', 'a.b', 'a b', '__class__', 'self', 'kwargs', 'x'.repeat(random.integer(100, 5000))]);
}

/** 0-3 well-formed JSON parameters under fresh names, to surround the bad one. */
function goodParameters(avoid: string): Record<string, Uint8Array> {
  const parameters: Record<string, Uint8Array> = {};
  for (let index = random.integer(0, 3); index > 0; index -= 1) {
    const name = `ok_${random.word()}`;
    if (name !== avoid) parameters[name] = json(random.pick([1, 'text', null, [1, 2], { nested: true }]));
  }
  return parameters;
}

function badJson(): Malformed {
  const key = parameterName();
  const text = random.pick(notJson) + (random.integer(0, 3) === 0 ? random.word() : '');
  return {
    label: `echo with invalid JSON ${JSON.stringify(text.slice(0, 20))} under ${JSON.stringify(key.slice(0, 20))}`,
    call: { toolName: 'echo', jsonParameters: { ...goodParameters(key), [key]: utf8(text) } },
    expect: { ...invalidParameter, key },
  };
}

function badUtf8(): Malformed {
  const key = random.word();
  const bytes = new Uint8Array([...utf8(`"${random.word()}`), ...random.pick(invalidUtf8), ...utf8('"')]);
  return {
    label: `echo with invalid UTF-8 under ${key}`,
    call: { toolName: 'echo', jsonParameters: { ...goodParameters(key), [key]: bytes } },
    expect: { ...invalidParameter, key },
  };
}

function nanLiteral(): Malformed {
  const literal = random.pick(nanLiterals);
  const tool = random.pick(['echo', 'add']);
  const key = tool === 'add' ? 'a' : random.word();
  const parameters: Record<string, Uint8Array> = { [key]: utf8(literal) };
  if (tool === 'add') parameters.b = json(1);
  return { label: `${tool} with ${literal}`, call: { toolName: tool, jsonParameters: parameters }, expect: { ...invalidParameter, key } };
}

/** Values whose `a + b` raises in Python (no pair here is addable). */
const unaddable: ReadonlyArray<[unknown, unknown]> = [
  ['x', 1],
  [1, 'x'],
  [{}, 1],
  [{ a: 1 }, { b: 2 }],
  [null, 1],
  [1, null],
  [null, null],
  [1, [1]],
  ['s', []],
  [true, 'x'],
  [[], {}],
  [{}, []],
  [1.5, 'x'],
  ['x', { k: 'v' }],
];

function wrongTypes(): Malformed {
  const choice = random.integer(0, 4);
  if (choice <= 2) {
    const [a, b] = random.pick(unaddable);
    return {
      label: `add(${JSON.stringify(a)}, ${JSON.stringify(b)})`,
      call: { toolName: 'add', jsonParameters: { a: json(a), b: json(b) } },
      expect: { codes: ['python_error'], pythonTypes: ['TypeError'] },
    };
  }
  if (choice === 3) {
    const size = random.pick<unknown>(['big', null, 1.5, [3], { n: 3 }, '3']);
    return {
      label: `make_bytes(size=${JSON.stringify(size)})`,
      call: { toolName: 'make_bytes', jsonParameters: { size: json(size) } },
      expect: { codes: ['python_error'], pythonTypes: ['TypeError'] },
    };
  }
  const size = random.pick<unknown>(['3', 1e300, [1], { n: 1 }, null]);
  return {
    label: `big_text(size=${JSON.stringify(size)})`,
    call: { toolName: 'big_text', jsonParameters: { size: json(size) } },
    expect: { codes: ['python_error'], pythonTypes: ['TypeError'] },
  };
}

function wrongTypesInStream(): Malformed {
  const variants: Array<[string, Record<string, unknown>]> = [
    ['stream_progress', { steps: 'many' }],
    ['stream_progress', { steps: { n: 2 } }],
    ['stream_progress', { steps: 2, delay_ms: 'soon' }],
    ['stream_progress', { steps: null }],
    ['fail_stream', { after: 'x' }],
    ['stream_values', { values: 5 }],
    ['stream_values', { values: null }],
    ['stream_ticks', { delay_ms: 'x', limit: 3 }],
    ['stream_ticks_sync', { limit: 'x' }],
  ];
  const [tool, args] = random.pick(variants);
  return {
    label: `${tool}(${JSON.stringify(args)})`,
    call: {
      toolName: tool,
      jsonParameters: Object.fromEntries(Object.entries(args).map(([key, value]) => [key, json(value)])),
    },
    expect: { codes: ['python_error'], pythonTypes: ['TypeError'] },
  };
}

function inBothMaps(): Malformed {
  const tool = random.pick(['echo', 'add', 'echo_bytes', 'bytes_info']);
  const key = tool === 'add' ? random.pick(['a', 'b']) : tool === 'echo' ? random.word() : 'data';
  const jsonParameters: Record<string, Uint8Array> = { [key]: json(random.integer(0, 9)) };
  if (tool === 'add') jsonParameters[key === 'a' ? 'b' : 'a'] = json(1);
  return {
    label: `${tool} with "${key}" in both maps`,
    call: { toolName: tool, jsonParameters, binaryParameters: { [key]: new Uint8Array([1, 2, 3]) } },
    expect: { ...invalidParameter, key },
  };
}

const strangeToolNames = (): string[] => [
  '',
  ' ',
  'ADD',
  ' add',
  'add ',
  'add\n',
  'add\u0000',
  '\u202eadd',
  'ａｄｄ',
  '工具',
  '😀',
  '../add',
  '/etc/passwd',
  'C:\\Windows\\system32',
  'snakepit_bridge.server',
  'showcase.add',
  'add.__globals__',
  '__init__',
  '__class__',
  '__dict__',
  'get_tools',
  'cleanup',
  'initialize',
  'session_context',
  '_discovered_tools',
  'execute_tool',
  'x'.repeat(10 * 1024),
  random.word(),
];

function unknownTool(): Malformed {
  const name = random.pick(strangeToolNames());
  const jsonParameters: Record<string, Uint8Array> = random.coin() ? { a: json(1), b: json(2) } : {};
  return {
    label: `unknown tool ${JSON.stringify(name.slice(0, 24))}${name.length > 24 ? `... (${name.length} chars)` : ''}`,
    call: { toolName: name, jsonParameters },
    expect: { codes: ['unknown_tool'], tool: name },
  };
}

function missingParameter(): Malformed {
  const variants: Array<[string, Record<string, unknown>, string]> = [
    ['add', { a: 1 }, 'b'],
    ['add', { b: 1 }, 'a'],
    ['add', {}, 'a'],
    ['echo_bytes', {}, 'data'],
    ['bytes_info', {}, 'data'],
    ['make_bytes', {}, 'size'],
    ['big_text', {}, 'size'],
    ['env', {}, 'name'],
    ['stream_values', {}, 'values'],
    ['stream_state', {}, 'name'],
    ['sleep', {}, 'ms'],
    ['state_get', {}, 'key'],
    ['call_host', {}, 'name'],
  ];
  const [tool, args, missing] = random.pick(variants);
  return {
    label: `${tool} without "${missing}"`,
    call: { toolName: tool, jsonParameters: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, json(v)])) },
    expect: { ...invalidParameter, key: missing },
  };
}

function unexpectedParameter(): Malformed {
  const variants: Array<[string, Record<string, unknown>, string]> = [
    ['add', { a: 1, b: 2, c: 3 }, 'c'],
    ['add', { a: 1, b: 2, self: 3 }, 'self'],
    ['ping', { x: 1 }, 'x'],
    ['pid', { verbose: true }, 'verbose'],
    ['make_bytes', { size: 1, pattern: 'x' }, 'pattern'],
    ['stream_progress', { steps: 1, speed: 9 }, 'speed'],
    ['session_info', { context: 'forged' }, 'context'],
    ['state_get', { key: 'k', context: {} }, 'context'],
    ['env', { name: 'HOME', kwargs: {} }, 'kwargs'],
  ];
  const [tool, args, unexpected] = random.pick(variants);
  const asBinary = random.integer(0, 3) === 0 && unexpected !== 'context';
  const jsonParameters: Record<string, Uint8Array> = {};
  const binaryParameters: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(args)) {
    if (asBinary && key === unexpected) binaryParameters[key] = new Uint8Array([9, 9]);
    else jsonParameters[key] = json(value);
  }
  return {
    label: `${tool} with unexpected "${unexpected}"${asBinary ? ' (binary)' : ''}`,
    call: { toolName: tool, jsonParameters, binaryParameters },
    expect: { ...invalidParameter, key: unexpected },
  };
}

function binaryForJson(): Malformed {
  const bytes = new Uint8Array(random.integer(0, 64)).map(() => random.integer(0, 255));
  const variants: Array<[string, Record<string, Uint8Array>, Record<string, Uint8Array>]> = [
    ['add', { b: json(1) }, { a: bytes }],
    ['add', { a: json('x') }, { b: bytes }],
    ['make_bytes', {}, { size: bytes }],
    ['big_text', {}, { size: bytes }],
    ['stream_progress', {}, { steps: bytes }],
    ['fail_stream', {}, { after: bytes }],
  ];
  const [tool, jsonParameters, binaryParameters] = random.pick(variants);
  return {
    label: `${tool} with bytes where a number belongs`,
    call: { toolName: tool, jsonParameters, binaryParameters },
    expect: { codes: ['python_error'], pythonTypes: ['TypeError'] },
  };
}

function deepNesting(): Malformed {
  const depth = random.pick([1000, 2000, 5000, 50_000, 200_000]);
  const tool = random.pick(['echo', 'add', 'stream_values']);
  // stream_values iterates its argument: an object would yield its keys and succeed.
  const [open, close] = tool !== 'stream_values' && random.coin() ? ['{"a":', '}'] : ['[', ']'];
  const document = open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth);
  const key = tool === 'add' ? 'a' : tool === 'stream_values' ? 'values' : 'deep';
  const jsonParameters: Record<string, Uint8Array> = { [key]: utf8(document) };
  if (tool === 'add') jsonParameters.b = json(1);
  return {
    label: `${tool} with JSON nested ${depth} deep`,
    call: { toolName: tool, jsonParameters },
    // Past Python's recursion limit the document cannot even be decoded: invalid_parameter. Just
    // below it, it decodes, and the tool (or encoding its result) fails: python_error. Never a
    // success, never a crash.
    expect: { codes: depth >= 5000 ? ['invalid_parameter'] : ['invalid_parameter', 'python_error'] },
  };
}

/** Tools that need the host bridge, called with sessions the worker has never heard of. */
function unknownSession(): Malformed {
  const sessionId = random.pick([
    `session-${random.word(16)}`,
    '00000000-0000-0000-0000-000000000000',
    '../../etc/passwd',
    'ü😀',
    ' ',
    '\u0000',
  ]);
  const variants: Array<[string, Record<string, unknown>]> = [
    ['state_get', { key: 'k' }],
    ['state_set', { key: 'k', value: 1 }],
    ['state_delete', { key: 'k' }],
    ['state_roundtrip_async', { key: 'k', value: [1] }],
    ['list_host_tools', {}],
    ['call_host', { name: 'lookup' }],
    ['call_host_async', { name: 'lookup', args: { id: 1 } }],
  ];
  const [tool, args] = random.pick(variants);
  return {
    label: `${tool} in unknown session ${JSON.stringify(sessionId)} (no host bridge)`,
    call: {
      toolName: tool,
      sessionId,
      jsonParameters: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, json(v)])),
    },
    expect: { codes: ['python_error'] },
  };
}

/** Any of the cheap malformations above. */
function anyMalformed(): Malformed {
  return random.pick([badJson, badUtf8, nanLiteral, wrongTypes, inBothMaps, unknownTool, missingParameter, unexpectedParameter])();
}

function withHugeMetadata(): Malformed {
  const base = anyMalformed();
  const metadata: Record<string, string> =
    random.coin()
      ? Object.fromEntries(Array.from({ length: 1000 }, (_, index) => [`key-${index}-${random.word()}`, random.word(20)]))
      : { big: 'm'.repeat(1024 * 1024), [random.word()]: 'ü'.repeat(random.integer(1, 50_000)) };
  return { ...base, label: `${base.label}, metadata of ${Object.keys(metadata).length} keys`, call: { ...base.call, metadata } };
}

function withStrangeSession(): Malformed {
  const base = anyMalformed();
  const sessionId = random.pick([
    `never-begun-${random.word()}`,
    's'.repeat(random.integer(64 * 1024, 1024 * 1024)),
    '😀'.repeat(random.integer(1, 2000)),
    '\n\r\t',
  ]);
  return { ...base, label: `${base.label}, session id of ${sessionId.length} chars`, call: { ...base.call, sessionId } };
}

function buildCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const add = (count: number, make: () => Malformed, mode?: FuzzCase['mode']) => {
    for (let index = 0; index < count; index += 1) {
      const malformed = make();
      cases.push({ ...malformed, mode: mode ?? (random.coin() ? 'unary' : 'stream') });
    }
  };
  add(45, badJson);
  add(25, badUtf8);
  add(16, nanLiteral);
  add(28, wrongTypes);
  add(18, wrongTypesInStream, 'stream');
  add(20, inBothMaps);
  add(36, unknownTool);
  add(22, missingParameter);
  add(22, unexpectedParameter);
  add(16, binaryForJson);
  add(12, deepNesting);
  add(20, unknownSession);
  add(14, withHugeMetadata);
  add(14, withStrangeSession);
  add(30, anyMalformed);
  // Shuffle (Fisher–Yates) so categories interleave; still deterministic.
  for (let index = cases.length - 1; index > 0; index -= 1) {
    const other = random.integer(0, index);
    [cases[index], cases[other]] = [cases[other]!, cases[index]!];
  }
  return cases;
}

const cases = buildCases();

/** FUZZ_VERBOSE=1 prints every case's outcome (to see what the worker answered, not just that it passed). */
const verbose = process.env.FUZZ_VERBOSE === '1';

/** What went wrong with one case, or undefined when it got the typed failure it should. */
function checkToolError(fuzzCase: FuzzCase, error: ToolError | undefined): string | undefined {
  if (error === undefined) return 'no ToolError';
  if (verbose) {
    const details = new TextDecoder().decode(error.detailsJson).slice(0, 120);
    console.log(`${fuzzCase.mode} ${fuzzCase.label.slice(0, 100)} -> ${error.code} ${error.pythonType} ${details}`);
  }
  const { expect: expected } = fuzzCase;
  if (!expected.codes.includes(error.code)) {
    return `code ${JSON.stringify(error.code)} (${error.pythonType}: ${error.message.slice(0, 200)}), expected one of ${expected.codes.join(', ')}`;
  }
  if (error.message.length === 0) return 'empty message';
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(error.detailsJson)) as Record<string, unknown>;
  } catch (cause) {
    return `details_json is not a JSON document: ${(cause as Error).message}`;
  }
  if (details === null || typeof details !== 'object' || Array.isArray(details)) return 'details_json is not an object';
  if (error.code === 'invalid_parameter') {
    if (typeof details.key !== 'string' || typeof details.reason !== 'string') return `details ${JSON.stringify(details)} lack key/reason`;
    if (expected.key !== undefined && details.key !== expected.key) {
      return `names key ${JSON.stringify(details.key.slice(0, 40))}, expected ${JSON.stringify(expected.key.slice(0, 40))} (${details.reason})`;
    }
  }
  if (error.code === 'unknown_tool') {
    if (expected.tool !== undefined && details.tool !== expected.tool) return `unknown_tool names ${JSON.stringify(details.tool)}`;
    if (!Array.isArray(details.available) || !details.available.includes('add')) return 'unknown_tool does not list the available tools';
  }
  if (error.code === 'python_error') {
    if (error.pythonType.length === 0) return 'python_error without python_type';
    if (error.traceback.length === 0) return 'python_error without traceback';
    if (expected.pythonTypes !== undefined && !expected.pythonTypes.includes(error.pythonType)) {
      return `python_type ${error.pythonType} (${error.message.slice(0, 200)}), expected ${expected.pythonTypes.join(' or ')}`;
    }
  }
  return undefined;
}

async function runCase(fuzzCase: FuzzCase): Promise<string | undefined> {
  try {
    if (fuzzCase.mode === 'unary') {
      const response = await worker.client.executeTool({ call: fuzzCase.call }, auth);
      if (response.result !== undefined) return `succeeded with a ${response.result.kind.case} result`;
      const problem = checkToolError(fuzzCase, response.error);
      if (problem !== undefined) return problem;
      const onChannel = await channel.execute({ call: fuzzCase.call, timeoutMs: callTimeoutMs }, AbortSignal.timeout(callTimeoutMs));
      if (onChannel.result !== undefined) return `succeeded on the channel with a ${onChannel.result.kind.case} result`;
      const channelProblem = checkToolError(fuzzCase, onChannel.error);
      return channelProblem === undefined ? undefined : `on the channel: ${channelProblem}`;
    }
    const chunks: StreamChunk[] = [];
    for await (const response of worker.client.executeStreamingTool({ call: fuzzCase.call }, auth)) chunks.push(...response.chunks);
    const finals = chunks.filter((chunk) => chunk.isFinal).length;
    if (finals !== 1) return `stream had ${finals} final chunks (${chunks.length} chunks)`;
    const last = chunks.at(-1)!;
    if (!last.isFinal) return 'the final chunk is not the last one';
    if (chunks.slice(0, -1).some((chunk) => chunk.error !== undefined)) return 'an error on a non-final chunk';
    if (last.error === undefined) return `stream ended without an error (${chunks.length} chunks)`;
    if (last.data !== undefined) return 'the error chunk also carries data';
    return checkToolError(fuzzCase, last.error);
  } catch (error) {
    const connectError = ConnectError.from(error);
    return `transport error ${Code[connectError.code]}: ${connectError.rawMessage.slice(0, 300)}`;
  }
}

describe(`${cases.length} malformed tool calls with the right token`, () => {
  it('has a few hundred of them, unary and streaming', () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    expect(cases.filter((fuzzCase) => fuzzCase.mode === 'stream').length).toBeGreaterThanOrEqual(100);
    expect(cases.filter((fuzzCase) => fuzzCase.mode === 'unary').length).toBeGreaterThanOrEqual(100);
  });

  const batchSize = 40;
  for (let start = 0; start < cases.length; start += batchSize) {
    const batch = cases.slice(start, start + batchSize);
    it(`cases ${start}-${start + batch.length - 1}: each gets a typed error, and the worker keeps serving`, async () => {
      const problems: string[] = [];
      for (const [offset, fuzzCase] of batch.entries()) {
        const problem = await runCase(fuzzCase);
        if (problem !== undefined) problems.push(`#${start + offset} ${fuzzCase.mode} ${fuzzCase.label}: ${problem}`);
      }
      expect(problems).toEqual([]);
      await expectServing();
    });
  }

  it('answers them all at once too (60 concurrent), then still serves', async () => {
    const burst = cases.filter((fuzzCase) => !fuzzCase.label.includes('nested')).slice(0, 60);
    const problems = await Promise.all(burst.map((fuzzCase) => runCase(fuzzCase)));
    expect(problems.filter((problem) => problem !== undefined)).toEqual([]);
    await expectServing();
    const described = await worker.client.describeTools({}, auth);
    expect(described.tools.map((spec) => spec.name)).toContain('add');
  });
});

// ------------------------------------------------------------------------------------------------
// Below the tool-call layer: requests that are not valid protobuf or not valid gRPC framing

describe('requests that are not even well-formed gRPC messages', () => {
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
    const response = await rawGrpcCall(worker.port, method, body, headers);
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
      await addOk(1, 2);
    }
    await expectServing();
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
      await addOk(1, 2);
    }
    await expectServing();
  });

  it('ends half-closed calls without a complete message at their deadline, and keeps serving', async () => {
    for (const [label, body] of incomplete) {
      for (const method of methods) {
        const response = await raw(method, body(), { ...authorization(), 'grpc-timeout': '300m' });
        expect(response.grpcStatus, `${method} with ${label}`).toBe(Code.DeadlineExceeded);
      }
    }
    await expectServing();
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
    await expectServing();
  });

  it('answers an unknown method with UNIMPLEMENTED', async () => {
    const response = await raw('RunArbitraryCode', envelope(new Uint8Array()), { ...authorization(), 'grpc-timeout': '5S' });
    expect(response.grpcStatus).toBe(Code.Unimplemented);
    await expectServing();
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
      await expectServing();
    }
  });
});
