/**
 * The Node.js worker against the same conformance suite as the Python adapters, through a real
 * pool; then on the wire, where the pool would hide what the worker itself answers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '@snakepit/sdk';
import { Code, ConnectError, defineAdapterConformanceSuite, failureOf, invalidUtf8Sequences, startWorkerHarness } from '@snakepit/sdk/testing';
import { ErrorCode } from '../gen/snakepit/bridge/v1/common_pb.js';
import { nodeAdapter } from '../adapter.js';
import { createAdapter } from './conformance-adapter.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const example = path.dirname(here);
const workerEntry = path.join(example, 'worker', 'main.js');
const conformanceTools = path.join(here, 'conformance-tools.js');
const adapterModule = new URL('./conformance-adapter.js', import.meta.url).href;

const testApi = { describe, it, beforeAll, afterAll, expect };
defineAdapterConformanceSuite({ name: 'node (examples/custom-adapter-node)', createAdapter, adapterModule }, testApi);
// Without the call channel every unary call is its own ExecuteTool RPC: deadlines arrive as
// grpc-timeout and cancellation as an HTTP/2 reset instead of channel frames.
defineAdapterConformanceSuite(
  { name: 'node, one RPC per call (no call channel)', createAdapter: () => nodeAdapter({ tools: conformanceTools, channelMaxRequestBytes: 0 }) },
  testApi,
);

const json = (value) => new TextEncoder().encode(JSON.stringify(value));
const details = (error) => JSON.parse(new TextDecoder().decode(error.detailsJson));
const never = new AbortController().signal;

describe('the Node worker on the wire', () => {
  let harness;

  beforeAll(async () => {
    harness = await startWorkerHarness({ spec: { command: process.execPath, args: [workerEntry, '--tools', conformanceTools] } });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it('announces its pid and capacity, and answers pings', async () => {
    expect(harness.info).toMatchObject({ pid: harness.pid, mode: 'process', capacity: 1 });
    const pong = await harness.client.ping({ message: 'hi' }, { headers: harness.authorization });
    expect(pong.message).toBe('hi');
    expect(pong.info.pid).toBe(harness.pid);
  });

  it('refuses an RPC without the token, or with a wrong one, with UNAUTHENTICATED', async () => {
    for (const headers of [{}, { authorization: `Bearer ${'0'.repeat(harness.token.length)}` }]) {
      const error = ConnectError.from(await harness.client.ping({ message: 'x' }, { headers }).catch((failure) => failure));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.rawMessage).toBe('missing or invalid authorization token');
    }
    const stream = harness.client.executeStreamingTool({ call: { toolName: 'stream_values', jsonParameters: { values: json([1]) } } });
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  it('refuses malformed arguments with invalid_parameter naming the key, and keeps serving', async () => {
    const cases = [
      [{ value: new TextEncoder().encode('{"open": ') }, 'invalid JSON'],
      [{ value: invalidUtf8Sequences[0] }, 'not valid UTF-8'],
    ];
    for (const [jsonParameters, reason] of cases) {
      const { error } = await harness.client.executeTool({ call: { toolName: 'echo', jsonParameters } }, { headers: harness.authorization });
      expect(error.code).toBe(ErrorCode.INVALID_PARAMETER);
      expect(details(error)).toMatchObject({ key: 'value' });
      expect(details(error).reason.startsWith(reason)).toBe(true);
    }
    const both = await harness.client.executeTool(
      { call: { toolName: 'echo', jsonParameters: { data: json(1) }, binaryParameters: { data: new Uint8Array([1]) } } },
      { headers: harness.authorization },
    );
    expect(details(both.error)).toEqual({ key: 'data', reason: 'present in both json_parameters and binary_parameters' });
    const missing = await harness.client.executeTool({ call: { toolName: 'sleep' } }, { headers: harness.authorization });
    expect(details(missing.error)).toEqual({ key: 'ms', reason: 'missing required parameter' });
  });

  it('names the available tools when the tool is unknown', async () => {
    const { error } = await harness.client.executeTool({ call: { toolName: 'nope' } }, { headers: harness.authorization });
    expect(error.code).toBe(ErrorCode.UNKNOWN_TOOL);
    const { tool, available } = details(error);
    expect(tool).toBe('nope');
    expect(available).toEqual([...available].sort());
    expect(available).toContain('echo');
  });

  it('sends the chunks before a failure, then one final chunk with the error', async () => {
    const chunks = [];
    const stream = harness.client.executeStreamingTool({ call: { toolName: 'fail_stream', jsonParameters: { after: json(2) } } }, { headers: harness.authorization });
    for await (const message of stream) chunks.push(...message.chunks);
    expect(chunks.map((chunk) => chunk.isFinal)).toEqual([false, false, true]);
    const final = chunks[2];
    expect(final.data).toBeUndefined();
    expect(final.error).toMatchObject({ code: ErrorCode.PYTHON_ERROR, pythonType: 'RangeError', message: 'stream failed' });
  });

  it('answers channel calls in completion order; a cancelled call gets no answer; timeout_ms is enforced', async () => {
    const channel = harness.openCallChannel();
    const order = [];
    const slow = channel.execute({ call: { toolName: 'sleep', jsonParameters: { ms: json(200) } } }, never).then((answer) => order.push('slow') && answer);
    const fast = channel.execute({ call: { toolName: 'echo', jsonParameters: { n: json(1) } } }, never).then((answer) => order.push('fast') && answer);
    await Promise.all([slow, fast]);
    expect(order).toEqual(['fast', 'slow']);

    const cancelledBefore = await channel.execute({ call: { toolName: 'cancelled_count' } }, never);
    const controller = new AbortController();
    const cancelled = channel.execute({ call: { toolName: 'sleep', jsonParameters: { ms: json(5000) } } }, controller.signal);
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(cancelled).rejects.toThrow('stop');

    const timedOut = await channel.execute({ call: { toolName: 'sleep', jsonParameters: { ms: json(5000) } }, timeoutMs: 100 }, never);
    expect(timedOut.error.code).toBe(ErrorCode.TIMEOUT);
    expect(timedOut.error.message).toBe("tool 'sleep' did not finish within 100 ms");
    expect(details(timedOut.error)).toEqual({ tool: 'sleep', timeout_ms: 100 });

    const cancelledAfter = await channel.execute({ call: { toolName: 'cancelled_count' } }, never);
    const count = (answer) => JSON.parse(new TextDecoder().decode(answer.result.kind.value));
    expect(count(cancelledAfter) - count(cancelledBefore)).toBe(2);
    channel.close();
  });

  it('exits 0 on SIGTERM', async () => {
    const worker = await startWorkerHarness({ spec: { command: process.execPath, args: [workerEntry, '--tools', conformanceTools] } });
    process.kill(worker.pid, 'SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    await worker.stop();
  });

  it('reports a failed start on fd 3: startup_failed with the type and message', async () => {
    const error = await failureOf(startWorkerHarness({ spec: { command: process.execPath, args: [workerEntry] } }));
    expect(error.code).toBe('startup_failed');
    expect(error.pythonType).toBe('StartupError');
    expect(error.message).toContain('no tools module: pass --tools <path>');
  });
});

describe('the Node worker in a pool', () => {
  it('reaches host tools and session state through the host bridge', async () => {
    const pool = createPool({ adapter: nodeAdapter({ tools: new URL('../tools.js', import.meta.url) }), size: 1 });
    try {
      pool.tools.register('price_of', ({ sku }) => {
        if (sku !== 'tea') throw new Error(`no price for ${sku}`);
        return { sku, price: 4.5 };
      });
      expect(await pool.execute('quote', { sku: 'tea' })).toEqual({ sku: 'tea', price: 4.5, with_tax: 5.4 });
      const error = await failureOf(pool.execute('quote', { sku: 'cake' }));
      expect(error.code).toBe('python_error');
      expect(error.pythonType).toBe('HostError');
      expect(error.details).toMatchObject({ host_error_code: 'host_tool_error' });
      const session = pool.session('visitor');
      await session.execute('visit');
      expect(await session.execute('visit')).toEqual({ session: 'visitor', visits: 2 });
      expect(await session.state.get('visits')).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('refuses an unknown adapter setting with invalid_parameter naming it', () => {
    // @ts-expect-error: the typo is the point
    expect(() => nodeAdapter({ tools: 'tools.js', capacty: 2 })).toThrow(expect.objectContaining({ code: 'invalid_parameter', message: expect.stringContaining('capacty') }));
  });
});

describe('generated code', () => {
  it('gen/ is what `npx buf generate` makes from proto/ today', () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'node-worker-gen-'));
    try {
      const buf = spawnSync('npx', ['buf', 'generate', '--output', scratch], { cwd: example, encoding: 'utf8' });
      expect(buf.stderr).toBe('');
      expect(buf.status).toBe(0);
      const files = (folder) => readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.js') || name.endsWith('.ts')).sort();
      const committed = path.join(example, 'gen');
      const fresh = path.join(scratch, 'gen');
      expect(files(committed)).toEqual(files(fresh));
      for (const name of files(fresh)) {
        const stale = readFileSync(path.join(committed, name), 'utf8') !== readFileSync(path.join(fresh, name), 'utf8');
        // When this fails, run `npx buf generate` in examples/custom-adapter-node.
        expect(stale ? `${name} is stale` : name).toBe(name);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
