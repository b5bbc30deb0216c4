/**
 * A few hundred malformed ExecuteTool / ExecuteStreamingTool requests for the showcase adapter,
 * from a seeded generator (so any failure replays exactly), each with the typed failure it must get.
 */
import { invalidUtf8Sequences, seededRandom, type MessageInitShape, type ToolCallSchema } from '@snakepit/sdk/testing';
import { json, utf8 } from './raw-worker.js';

type ToolCallInit = MessageInitShape<typeof ToolCallSchema>;

export interface Expectation {
  /** Acceptable ToolError codes. */
  codes: readonly string[];
  /** For python_error: acceptable Python types (unchecked when absent). */
  pythonTypes?: readonly string[];
  /** For invalid_parameter: the key the error must name. */
  key?: string;
  /** For unknown_tool: the name the error must echo. */
  tool?: string;
}

export interface Malformed {
  label: string;
  call: ToolCallInit;
  expect: Expectation;
}

export interface FuzzCase extends Malformed {
  mode: 'unary' | 'stream';
}

const random = seededRandom(0xf022);

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
  const bytes = new Uint8Array([...utf8(`"${random.word()}`), ...random.pick(invalidUtf8Sequences), ...utf8('"')]);
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

/** The cases, in a fixed (seeded) order. */
export const cases = buildCases();
