/**
 * A few hundred malformed requests from a seeded generator (so any failure replays exactly):
 * every one must come back as a typed error — a gRPC error carrying `snakepit-error-code`, or an
 * in-band ToolError from ExecuteHostTool — and the server must keep serving afterwards.
 */
import { ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolArguments } from '../../src/wire/arguments.js';
import { errorCodeTrailer } from '../../src/bridge/error-translation.js';
import { invalidUtf8Sequences } from '../../src/testing/invalid-utf8.js';
import { seededRandom } from '../../src/testing/seeded-random.js';
import { startBridgeFixture, utf8, type BridgeFixture } from './bridge-fixture.js';
import type { ErrorCode } from '../../src/gen/snakepit/bridge/v1/common_pb.js';
import { errorCodeName } from '../../src/wire/error-code.js';

const random = seededRandom(0x5eed);

const notJson = ['{', '{"a":', '[1,2', 'undefined', "{'a':1}", 'NaN', '01', '"unterminated', '{"a":1}}', 'tru', '1 2', '\u0000'];

function badJsonBytes(): Uint8Array {
  switch (random.integer(0, 2)) {
    case 0:
      return new Uint8Array([...utf8(`"${random.word()}`), ...random.pick(invalidUtf8Sequences)]);
    case 1:
      return utf8(random.pick(notJson) + (random.integer(0, 1) === 0 ? '' : random.word()));
    default:
      return new Uint8Array();
  }
}

function hugeMetadata(): Record<string, string> {
  if (random.integer(0, 1) === 0) {
    return Object.fromEntries(Array.from({ length: random.integer(33, 80) }, (_, index) => [`k${index}`, 'v']));
  }
  return { big: 'x'.repeat(random.integer(4097, 20_000)) };
}

const invalidToolNames = ['', '-x', '_x', '.x', 'a b', 'a/b', 'a:b', 'ü', 'a'.repeat(65), 'tool\n', 'x'.repeat(300)];

interface FuzzCase {
  label: string;
  expected: string;
  run: (fixture: BridgeFixture) => Promise<unknown>;
}

function buildCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const add = (count: number, label: string, expected: string, make: () => FuzzCase['run']) => {
    for (let index = 0; index < count; index += 1) cases.push({ label: `${label} #${index}`, expected, run: make() });
  };
  const oversized = () => 'k'.repeat(random.integer(257, 5000));

  add(40, 'setSessionState bad value_json', 'invalid_parameter', () => {
    const valueJson = badJsonBytes();
    return ({ client, auth }) => client.setSessionState({ sessionId: 'live', key: random.word(), valueJson }, auth);
  });
  add(5, 'setSessionState JSON nested too deeply', 'invalid_parameter', () => {
    const depth = random.integer(600, 50_000);
    const valueJson = utf8('['.repeat(depth) + ']'.repeat(depth));
    return ({ client, auth }) => client.setSessionState({ sessionId: 'live', key: 'deep', valueJson }, auth);
  });
  add(40, 'executeHostTool bad JSON parameter', 'invalid_parameter', () => {
    const jsonParameters = { ok: utf8('1'), [random.word()]: badJsonBytes() };
    return ({ client, auth }) => client.executeHostTool({ call: { toolName: 'add', jsonParameters } }, auth);
  });
  add(20, 'executeHostTool key in both maps', 'invalid_parameter', () => {
    const key = random.word();
    return ({ client, auth }) =>
      client.executeHostTool(
        { call: { toolName: 'add', jsonParameters: { [key]: utf8('1') }, binaryParameters: { [key]: new Uint8Array([1]) } } },
        auth,
      );
  });
  add(20, 'executeHostTool wrong types inside JSON', 'host_tool_error', () => {
    const wrong = random.pick(['"1"', '[1]', '{"n":1}', 'null', 'true']);
    return ({ client, auth }) =>
      client.executeHostTool({ call: { toolName: 'add', jsonParameters: { a: utf8(wrong), b: utf8('2') } } }, auth);
  });
  add(15, 'initializeSession huge metadata', 'invalid_parameter', () => {
    const metadata = hugeMetadata();
    return ({ client, auth }) => client.initializeSession({ sessionId: random.word(), metadata }, auth);
  });
  add(15, 'executeHostTool huge metadata', 'invalid_parameter', () => {
    const metadata = hugeMetadata();
    return ({ client, auth }) => client.executeHostTool({ call: { toolName: 'add', metadata } }, auth);
  });
  add(30, 'state operation on an unknown session', 'session_not_found', () => {
    const sessionId = `unknown-${random.word()}`;
    const key = random.word();
    const operation = random.integer(0, 2);
    return ({ client, auth }) =>
      operation === 0
        ? client.getSessionState({ sessionId, key }, auth)
        : operation === 1
          ? client.setSessionState({ sessionId, key, valueJson: utf8('1') }, auth)
          : client.deleteSessionState({ sessionId, key }, auth);
  });
  add(25, 'executeHostTool invalid tool name', 'invalid_parameter', () => {
    const toolName = random.pick(invalidToolNames);
    return ({ client, auth }) => client.executeHostTool({ call: { toolName } }, auth);
  });
  add(15, 'registerTools invalid tool name', 'invalid_parameter', () => {
    const name = random.pick(invalidToolNames);
    return ({ client, auth }) => client.registerTools({ workerId: 'w1', tools: [{ name: 'fine' }, { name }] }, auth);
  });
  add(10, 'registerTools bad parameters_json', 'invalid_parameter', () => {
    const parametersJson = badJsonBytes();
    return ({ client, auth }) =>
      parametersJson.length === 0
        ? client.registerTools({ workerId: 'w1', tools: [{ name: 'dup' }, { name: 'dup' }] }, auth)
        : client.registerTools({ workerId: 'w1', tools: [{ name: 't', parametersJson }] }, auth);
  });
  add(30, 'empty id or key', 'invalid_parameter', () => {
    const operation = random.integer(0, 7);
    return ({ client, auth }) => {
      switch (operation) {
        case 0:
          return client.heartbeat({ workerId: '' }, auth);
        case 1:
          return client.initializeSession({ sessionId: '' }, auth);
        case 2:
          return client.getSession({ sessionId: '' }, auth);
        case 3:
          return client.cleanupSession({ sessionId: '' }, auth);
        case 4:
          return client.getSessionState({ sessionId: 'live', key: '' }, auth);
        case 5:
          return client.setSessionState({ sessionId: '', key: 'k', valueJson: utf8('1') }, auth);
        case 6:
          return client.deleteSessionState({ sessionId: 'live', key: '' }, auth);
        default:
          return client.registerTools({ workerId: '', tools: [] }, auth);
      }
    };
  });
  add(30, 'oversized id, key or parameter name', 'invalid_parameter', () => {
    const text = oversized();
    const operation = random.integer(0, 5);
    return ({ client, auth }) => {
      switch (operation) {
        case 0:
          return client.initializeSession({ sessionId: text }, auth);
        case 1:
          return client.setSessionState({ sessionId: 'live', key: text, valueJson: utf8('1') }, auth);
        case 2:
          return client.heartbeat({ workerId: text }, auth);
        case 3:
          return client.listHostTools({ sessionId: text }, auth);
        case 4:
          return client.executeHostTool({ call: { toolName: 'add', sessionId: text } }, auth);
        default:
          return client.executeHostTool({ call: { toolName: 'add', jsonParameters: { [text]: utf8('1') } } }, auth);
      }
    };
  });
  add(10, 'negative ttl', 'invalid_parameter', () => {
    const ttlMs = -BigInt(random.integer(1, 1_000_000));
    return ({ client, auth }) => client.initializeSession({ sessionId: random.word(), ttlMs }, auth);
  });
  add(5, 'executeHostTool without a call', 'invalid_parameter', () => ({ client, auth }) => client.executeHostTool({}, auth));
  add(10, 'unknown host tool', 'unknown_tool', () => {
    const toolName = `missing-${random.word()}`;
    return ({ client, auth }) => client.executeHostTool({ call: { toolName } }, auth);
  });
  add(10, 'wrong token', 'unauthenticated', () => {
    const authorization = `Bearer ${random.word(32)}`;
    return ({ client }) => client.getSession({ sessionId: 'live' }, { headers: { authorization } });
  });
  return cases;
}

/** The snakepit code a call answered with: from the trailer, the in-band error, or "ok". */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    const response = (await call) as { error?: { code: ErrorCode } };
    return response.error === undefined ? 'ok' : (errorCodeName(response.error.code) ?? `unspecified ${response.error.code}`);
  } catch (error) {
    const connectError = ConnectError.from(error);
    return connectError.metadata.get(errorCodeTrailer) ?? `untyped ${connectError.code}: ${connectError.message}`;
  }
}

describe('host bridge fuzz', () => {
  let fixture: BridgeFixture;
  beforeAll(async () => {
    fixture = await startBridgeFixture();
    await fixture.sessions.create('live');
    fixture.tools.register('add', ({ a, b }: ToolArguments) => {
      if (typeof a !== 'number' || typeof b !== 'number') throw new TypeError('a and b must be numbers');
      return a + b;
    });
  });
  afterAll(() => fixture.close());

  it('answers every malformed request with a typed error and keeps serving', async () => {
    const cases = buildCases();
    expect(cases.length).toBeGreaterThanOrEqual(300);
    const mismatches: string[] = [];
    // Batches keep the number of concurrent HTTP/2 streams well below the server's limit.
    for (let start = 0; start < cases.length; start += 25) {
      await Promise.all(
        cases.slice(start, start + 25).map(async (fuzzCase) => {
          const got = await outcome(fuzzCase.run(fixture));
          if (got !== fuzzCase.expected) mismatches.push(`${fuzzCase.label}: expected ${fuzzCase.expected}, got ${got}`);
        }),
      );
    }
    expect(mismatches).toEqual([]);

    const { client, auth } = fixture;
    await expect(client.heartbeat({ workerId: 'w1' }, auth)).resolves.toBeDefined();
    const sum = await client.executeHostTool({ call: { toolName: 'add', jsonParameters: { a: utf8('2'), b: utf8('40') } } }, auth);
    expect(Buffer.from(sum.result!.kind.value as Uint8Array).toString('utf8')).toBe('42');
    // Nothing malformed created state: only the one session made by the test exists.
    expect(await fixture.sessions.stats()).toMatchObject({ sessions: 1, sessionEntries: 0 });
  });
});
