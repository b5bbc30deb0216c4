/**
 * The fixtures of the remote-worker tests against the real service (`python -m
 * snakepit_bridge.serve`): certificates made by openssl that a TLS service serves and a Node
 * client verifies (and refuses under another CA), mTLS with the client certificates, SIGSTOP /
 * SIGCONT, the SIGTERM drain ending with exit code 0, and `--workers N` readiness. Calls are bare
 * HTTP/2 gRPC Pings (support/raw-grpc.ts), so nothing but the fixtures is under test.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary, WorkerService } from '@snakepit/sdk/testing';
import { envelope, rawGrpcCall, type RawResponse, type RawTarget } from './support/raw-grpc.js';
import { makeTlsFixture, type TlsFixture } from './support/tls-certificates.js';
import { startWorkerService, type WorkerServiceProcess } from './support/worker-service.js';

const pingBody = envelope(toBinary(WorkerService.method.ping.input, create(WorkerService.method.ping.input, { message: 'hello' })));

function ping(target: RawTarget, token: string, timeoutMs = 5_000): Promise<RawResponse> {
  return rawGrpcCall(target, 'Ping', pingBody, { authorization: `Bearer ${token}` }, timeoutMs);
}

/** The Ping answered OK; returns the answering worker's pid. */
function answeredPid(response: RawResponse): number {
  expect(response.streamError).toBeUndefined();
  expect(response.grpcStatus).toBe(0);
  expect(response.messages).toHaveLength(1);
  const answer = fromBinary(WorkerService.method.ping.output, response.messages[0]!);
  expect(answer.message).toBe('hello');
  return answer.info!.pid;
}

/** The connection ended before any gRPC status or message (a failed TLS handshake). */
function expectNoAnswer(response: RawResponse): void {
  expect(response.grpcStatus).toBeUndefined();
  expect(response.messages).toHaveLength(0);
}

let certs: TlsFixture;
beforeAll(async () => {
  certs = await makeTlsFixture({ extraServerSans: ['IP:127.0.0.2', 'DNS:fleet.test'] });
});
afterAll(() => certs?.cleanup());

describe('makeTlsFixture', () => {
  it('makes a server and a client certificate of one CA, and a stranger of another', () => {
    const ca = new X509Certificate(certs.ca.cert);
    const otherCa = new X509Certificate(certs.otherCa.cert);
    const server = new X509Certificate(certs.server.cert);
    expect(ca.ca && otherCa.ca && !server.ca).toBe(true);
    expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:127.0.0.2, DNS:fleet.test');
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.verify(otherCa.publicKey)).toBe(false);
    expect(new X509Certificate(certs.client.cert).checkIssued(ca)).toBe(true);
    expect(new X509Certificate(certs.strangerClient.cert).checkIssued(otherCa)).toBe(true);
    expect(certs.server.key).toContain('-----BEGIN PRIVATE KEY-----');
  });
});

describe('a TLS service started by startWorkerService', () => {
  let service: WorkerServiceProcess;
  beforeAll(async () => {
    service = await startWorkerService({ tlsCert: certs.server.certPath, tlsKey: certs.server.keyPath, drainSeconds: 2 });
  });
  afterAll(() => service?.kill());

  it('answers a Ping over TLS from a client trusting the CA', async () => {
    const listening = await service.waitForLine((line) => line.event === 'listening');
    expect(listening).toMatchObject({ tls: true, mtls: false, pid: service.pid, address: service.endpoint });
    expect(answeredPid(await ping({ endpoint: service.endpoint, tls: { ca: certs.ca.cert } }, service.token))).toBe(service.pid);
  });

  it('is refused by a client trusting another CA', async () => {
    const response = await ping({ endpoint: service.endpoint, tls: { ca: certs.otherCa.cert } }, service.token);
    expectNoAnswer(response);
    expect(response.streamError).toMatch(/unable to verify|self.signed|certificate/i);
  });

  it('answers nothing while paused, and again once resumed', async () => {
    const target = { endpoint: service.endpoint, tls: { ca: certs.ca.cert } };
    service.pause();
    await expect(ping(target, service.token, 700)).rejects.toThrow(/no answer within 700 ms/);
    service.resume();
    expect(answeredPid(await ping(target, service.token))).toBe(service.pid);
  });

  it('drains on stop() and exits with code 0', async () => {
    expect(await service.stop()).toEqual({ code: 0, signal: null });
    const events = service.lines.map((line) => line.event);
    expect(events).toContain('draining');
    expect(events).toContain('stopped');
  });
});

describe('an mTLS service', () => {
  let service: WorkerServiceProcess;
  beforeAll(async () => {
    service = await startWorkerService({
      tlsCert: certs.server.certPath,
      tlsKey: certs.server.keyPath,
      tlsClientCa: certs.ca.certPath,
      drainSeconds: 2,
    });
  });
  afterAll(() => service?.kill());

  it('answers a client with a certificate of its client CA, and refuses others', async () => {
    const tls = { ca: certs.ca.cert };
    const withClient = { endpoint: service.endpoint, tls: { ...tls, cert: certs.client.cert, key: certs.client.key } };
    expect(answeredPid(await ping(withClient, service.token))).toBe(service.pid);
    const stranger = { endpoint: service.endpoint, tls: { ...tls, cert: certs.strangerClient.cert, key: certs.strangerClient.key } };
    // The server refuses the client's certificate (or its lack of one) after the client's side of
    // the handshake is done: the connection just ends.
    expectNoAnswer(await ping(stranger, service.token));
    expectNoAnswer(await ping({ endpoint: service.endpoint, tls }, service.token));
    expect(await service.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('a service with --workers 2', () => {
  let service: WorkerServiceProcess;
  beforeAll(async () => {
    service = await startWorkerService({ workers: 2, drainSeconds: 2 });
  });
  afterAll(() => service?.kill());

  it('is ready once both servers listen, each on its own endpoint and process', async () => {
    expect(service.endpoints).toHaveLength(2);
    const pids = [];
    for (const endpoint of service.endpoints) pids.push(answeredPid(await ping({ endpoint }, service.token)));
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(service.pid);
    expect(await service.stop()).toEqual({ code: 0, signal: null });
  });
});
