/** remotePythonAdapter's options: each mistake refused up front as invalid_parameter naming the option; plaintext kept to loopback. */
import { SnakepitError } from '@snakepit/sdk';
import { describe, expect, it } from 'vitest';
import { remotePythonAdapter, type RemotePythonAdapterOptions } from '../../src/index.js';
import { validateRemoteOptions } from '../../src/remote/remote-options.js';

const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const base: RemotePythonAdapterOptions = { endpoints: ['10.0.0.5:50051'], tls: { ca }, token: 'tok-123' };

function refusal(options: unknown): { key: unknown; message: string } {
  try {
    remotePythonAdapter(options as RemotePythonAdapterOptions);
  } catch (error) {
    expect(SnakepitError.hasCode(error, 'invalid_parameter')).toBe(true);
    return { key: (error as SnakepitError).details.key, message: (error as SnakepitError).message };
  }
  throw new Error('the options were accepted');
}

describe('remotePythonAdapter options', () => {
  it('accepts endpoints with TLS and a token, with the documented defaults', () => {
    expect(validateRemoteOptions(base)).toEqual({
      endpoints: ['10.0.0.5:50051'],
      // No serverName: each endpoint's own host is checked (connectGrpcWorker's default).
      tls: { ca },
      token: 'tok-123',
      connectTimeoutMs: 5_000,
      handshakeTimeoutMs: 5_000,
    });
    expect(remotePythonAdapter(base)).toMatchObject({ specificationVersion: 'v2', name: 'python-remote', usesHostBridge: false });
  });

  it('names the service as the default server name with discovery', () => {
    const settings = validateRemoteOptions({ discover: { dns: '_grpc._tcp.fleet.ns.svc.cluster.local.' }, tls: { ca }, token: 't' });
    expect(settings.tls).toEqual({ ca, serverName: 'fleet.ns.svc.cluster.local' });
    expect(validateRemoteOptions({ ...base, tls: { ca, serverName: 'workers.internal' } }).tls).toMatchObject({ serverName: 'workers.internal' });
  });

  it.each([
    [{ ...base, endpoints: undefined }, 'endpoints'],
    [{ ...base, discover: { dns: 'fleet.test', port: 1 } }, 'endpoints'],
    [{ ...base, endpoints: [] }, 'endpoints'],
    [{ ...base, endpoints: ['a:1', 'a:1'] }, 'endpoints'],
    [{ ...base, endpoints: ['no-port'] }, 'endpoints[0]'],
    [{ ...base, endpoints: ['[not-v6]:80'] }, 'endpoints[0]'],
    [{ ...base, endpoints: ['host:70000'] }, 'endpoints[0]'],
    [{ ...base, token: '' }, 'token'],
    [{ ...base, token: 'has space' }, 'token'],
    [{ ...base, tls: undefined }, 'tls'],
    [{ ...base, tls: { ca: '' } }, 'tls.ca'],
    [{ ...base, tls: { ca, cert: ca } }, 'tls.key'],
    [{ ...base, tls: { ca, servername: 'x' } }, 'tls.servername'],
    [{ ...base, plaintext: true }, 'plaintext'],
    [{ ...base, endpoints: ['127.0.0.1:1'], plaintext: true }, 'plaintext'],
    [{ ...base, connectTimeoutMs: 0 }, 'connectTimeoutMs'],
    [{ ...base, handshakeTimeoutMs: 1.5 }, 'handshakeTimeoutMs'],
    [{ ...base, channelMaxRequestBytes: -1 }, 'channelMaxRequestBytes'],
    [{ ...base, tokn: 'x' }, 'tokn'],
  ])('refuses %j as invalid %s', (options, key) => {
    expect(refusal(options).key).toBe(key);
  });

  it('allows plaintext for loopback endpoints only', () => {
    expect(validateRemoteOptions({ endpoints: ['127.0.0.1:7000', 'localhost:7001', '[::1]:7002'], plaintext: true, token: 't' }).tls).toBe('plaintext');
    expect(refusal({ endpoints: ['127.0.0.1:7000', '192.168.1.4:7000'], plaintext: true, token: 't' }).message).toMatch(/192\.168\.1\.4/);
  });

  it('refuses to start a discovered endpoint beyond loopback in plaintext', async () => {
    const adapter = remotePythonAdapter({ discover: { dns: 'fleet.test', port: 7000 }, plaintext: true, token: 't' });
    const failure = await adapter
      .doStartWorker({ seat: '10.1.2.3:7000', workerId: 'w1' } as Parameters<typeof adapter.doStartWorker>[0])
      .catch((error: unknown) => error);
    expect(SnakepitError.hasCode(failure, 'startup_failed')).toBe(true);
    expect((failure as SnakepitError).message).toMatch(/not on loopback/);
  });
});
