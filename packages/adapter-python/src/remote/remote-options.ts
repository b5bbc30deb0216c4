/**
 * Validation of remotePythonAdapter's options, when the adapter is made: an unknown key, a missing
 * token, a malformed endpoint, TLS half given, or TLS and plaintext both (or neither) chosen
 * throws `invalid_parameter` naming the option. Plaintext is refused for endpoints beyond
 * loopback, so that a token never crosses a network in clear text by mistake.
 */
import { isIP } from 'node:net';
import { errors, parseEndpoint, type RemoteTlsOptions } from '@snakepit/sdk/adapter';
import type { RemotePythonAdapterOptions } from './remote-python-adapter.js';

const knownKeys = new Set([
  'endpoints',
  'discover',
  'tls',
  'plaintext',
  'token',
  'connectTimeoutMs',
  'handshakeTimeoutMs',
  'maxMessageBytes',
  'channelMaxRequestBytes',
]);
const tlsKeys = new Set(['ca', 'cert', 'key', 'serverName']);

export const remoteDefaults = Object.freeze({ connectTimeoutMs: 5_000, handshakeTimeoutMs: 5_000 });

export interface RemoteSettings {
  /** The static endpoints (empty with `discover`). */
  endpoints: string[];
  tls: RemoteTlsOptions | 'plaintext';
  token: string;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
}

function isPem(value: unknown): boolean {
  if (typeof value === 'string') return value.length > 0;
  if (Buffer.isBuffer(value)) return value.length > 0;
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' || Buffer.isBuffer(item));
}

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function timeout(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw errors.invalidParameter(name, 'must be a whole number of milliseconds, at least 1');
  }
  return value;
}

function validateTls(tls: unknown, defaultServerName: string | undefined): RemoteTlsOptions {
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) throw errors.invalidParameter('tls', 'must be an object');
  for (const key of Object.keys(tls)) if (!tlsKeys.has(key)) throw errors.invalidParameter(`tls.${key}`, 'is not a known TLS option');
  const { ca, cert, key, serverName } = tls as Partial<RemoteTlsOptions>;
  if (!isPem(ca)) throw errors.invalidParameter('tls.ca', 'must be the PEM text (string or Buffer) of the CA the servers chain to');
  if ((cert === undefined) !== (key === undefined)) throw errors.invalidParameter(cert === undefined ? 'tls.cert' : 'tls.key', 'mutual TLS needs both cert and key');
  if (cert !== undefined && !isPem(cert)) throw errors.invalidParameter('tls.cert', 'must be PEM text (string or Buffer)');
  if (key !== undefined && !isPem(key)) throw errors.invalidParameter('tls.key', 'must be PEM text (string or Buffer)');
  if (serverName !== undefined && (typeof serverName !== 'string' || serverName === '')) {
    throw errors.invalidParameter('tls.serverName', 'must be a non-empty string');
  }
  const name = serverName ?? defaultServerName;
  return { ca: ca!, ...(cert !== undefined ? { cert, key: key! } : {}), ...(name !== undefined ? { serverName: name } : {}) };
}

export function validateRemoteOptions(options: RemotePythonAdapterOptions): RemoteSettings {
  if (typeof options !== 'object' || options === null) throw errors.invalidParameter('options', 'must be an object');
  for (const key of Object.keys(options)) if (!knownKeys.has(key)) throw errors.invalidParameter(key, 'is not a known remotePythonAdapter option');
  const { endpoints, discover, token } = options;
  if ((endpoints === undefined) === (discover === undefined)) {
    throw errors.invalidParameter('endpoints', 'give either endpoints or discover (exactly one of them)');
  }
  let hosts: string[] = [];
  if (endpoints !== undefined) {
    if (!Array.isArray(endpoints) || endpoints.length === 0) throw errors.invalidParameter('endpoints', 'must be a non-empty array of "host:port"');
    if (new Set(endpoints).size !== endpoints.length) throw errors.invalidParameter('endpoints', 'lists an endpoint twice');
    hosts = endpoints.map((endpoint, index) => {
      const address = typeof endpoint === 'string' ? parseEndpoint(endpoint) : undefined;
      if (address === undefined) throw errors.invalidParameter(`endpoints[${index}]`, `must be "host:port" or "[ipv6]:port", got ${JSON.stringify(endpoint)}`);
      return address.host;
    });
  }
  if (typeof token !== 'string' || token.trim() === '' || !/^[\x21-\x7e]+$/.test(token)) {
    throw errors.invalidParameter('token', 'must be the servers\' token: a non-empty string of printable characters without spaces');
  }
  if (options.plaintext !== undefined && typeof options.plaintext !== 'boolean') throw errors.invalidParameter('plaintext', 'must be a boolean');
  let tls: RemoteTlsOptions | 'plaintext';
  if (options.plaintext === true) {
    if (options.tls !== undefined) throw errors.invalidParameter('plaintext', 'cannot be combined with tls');
    const remote = hosts.find((host) => !isLoopback(host));
    if (remote !== undefined) {
      throw errors.invalidParameter('plaintext', `is for loopback servers only; "${remote}" is not loopback, so give tls`);
    }
    tls = 'plaintext';
  } else {
    if (options.tls === undefined) throw errors.invalidParameter('tls', 'is required (or plaintext: true for servers on loopback)');
    // With discovery every endpoint is an address: the certificate names the service instead.
    const discoveredName = typeof discover?.dns === 'string' ? discover.dns.replace(/^(?:_[^.]+\.)+/, '').replace(/\.$/, '') : undefined;
    tls = validateTls(options.tls, discoveredName);
  }
  return {
    endpoints: endpoints ?? [],
    tls,
    token,
    connectTimeoutMs: timeout('connectTimeoutMs', options.connectTimeoutMs, remoteDefaults.connectTimeoutMs),
    handshakeTimeoutMs: timeout('handshakeTimeoutMs', options.handshakeTimeoutMs, remoteDefaults.handshakeTimeoutMs),
  };
}
