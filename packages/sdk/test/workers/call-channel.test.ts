/**
 * The call channel's framing against a real HTTP/2 gRPC server (connect-node): answers matched by
 * call id in any order, aborts that settle at once and send a cancel frame, a broken stream that
 * fails every call in flight, and an open channel that does not keep the process alive while idle.
 * The Python side of the same contract is tested in pytest and in the integration tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '@connectrpc/connect';
import { WorkerService } from '../../src/gen/snakepit/bridge/v1/worker_pb.js';
import { createGrpcHttp2Transport, type GrpcHttp2Transport } from '../../src/transport/index.js';
import { startWorkerTestServer, type WorkerTestServer } from '../transport/worker-test-server.js';
import { CallChannel, ChannelBroken } from '../../src/workers/call-channel.js';

let server: WorkerTestServer;
let transport: GrpcHttp2Transport;
let client: Client<typeof WorkerService>;
const decoder = new TextDecoder();

beforeAll(async () => {
  server = await startWorkerTestServer();
  transport = createGrpcHttp2Transport({ baseUrl: server.baseUrl });
  client = createClient(WorkerService, transport);
});

afterAll(async () => {
  transport.destroy();
  await server.close();
});

const never = new AbortController().signal;

function call(toolName: string, delayMs = 0) {
  return { call: { toolName, metadata: { 'delay-ms': String(delayMs) } }, timeoutMs: 10_000 };
}

/** The echo tool answers with the call id it saw. */
function answeredId(response: { result?: { kind: { value?: unknown } } | undefined }): number {
  return Number(decoder.decode(response.result?.kind.value as Uint8Array));
}

async function settled(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('CallChannel', () => {
  it('matches answers to calls by id, in the order they complete', async () => {
    const channel = new CallChannel(client, {});
    const finished: string[] = [];
    const slow = channel.execute(call('echo', 80), never).then((response) => (finished.push('slow'), answeredId(response)));
    const fast = channel.execute(call('echo', 0), never).then((response) => (finished.push('fast'), answeredId(response)));
    const [slowId, fastId] = await Promise.all([slow, fast]);
    expect(finished).toEqual(['fast', 'slow']);
    expect(slowId).not.toBe(fastId);
    expect(channel.usable).toBe(true);
  });

  it('an abort settles the call at once with the signal reason and sends a cancel frame', async () => {
    const channel = new CallChannel(client, {});
    const controller = new AbortController();
    const hanging = channel.execute(call('hang'), controller.signal);
    const reason = new Error('stop now');
    setTimeout(() => controller.abort(reason), 20);
    expect(await settled(hanging)).toBe(reason);
    const id = await channel.execute(call('echo'), never).then(answeredId);
    // The cancel went out before the next call on the same stream.
    expect(server.observed.cancelledCalls).toContain(id - 1);
    expect(await settled(channel.execute(call('echo'), AbortSignal.abort(reason)))).toBe(reason);
  });

  it('a broken stream fails every call in flight with ChannelBroken, and a new channel works', async () => {
    const channel = new CallChannel(client, {});
    const pending = [channel.execute(call('hang'), never), channel.execute(call('hang'), never)];
    await new Promise((resolve) => setTimeout(resolve, 20));
    void channel.execute(call('break'), never).catch(() => {});
    for (const outcome of await Promise.all(pending.map(settled))) expect(outcome).toBeInstanceOf(ChannelBroken);
    expect(channel.usable).toBe(false);
    expect(await settled(channel.execute(call('echo'), never))).toBeInstanceOf(ChannelBroken);
    const fresh = new CallChannel(client, {});
    expect(answeredId(await fresh.execute(call('echo'), never))).toBeGreaterThan(0);
  });

  it('close() lets the calls in flight finish, refuses new ones and ends the stream', async () => {
    const channel = new CallChannel(client, {});
    const inFlight = channel.execute(call('echo', 50), never);
    channel.close();
    expect(channel.usable).toBe(false);
    expect(await settled(channel.execute(call('echo'), never))).toBeInstanceOf(ChannelBroken);
    expect(answeredId(await inFlight)).toBeGreaterThan(0);
  });

  it('holds the event loop only while calls are in flight', async () => {
    const channel = new CallChannel(client, {});
    await channel.execute(call('echo'), never);
    const referenced = () => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap' || name === 'Timeout').length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const idle = referenced();
    const controller = new AbortController();
    const hanging = channel.execute(call('hang'), controller.signal);
    expect(referenced()).toBeGreaterThan(idle);
    controller.abort(new Error('done'));
    await settled(hanging);
    expect(referenced()).toBe(idle);
  });
});
