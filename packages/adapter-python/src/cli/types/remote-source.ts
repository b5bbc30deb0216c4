/**
 * `snakepit types --endpoint HOST:PORT`: the options that name a running worker server (`python -m
 * snakepit_bridge.serve`) to read the tools from — its TLS CA (or `--plaintext` on loopback), a
 * client certificate for mutual TLS, the server name, and where the token comes from (a file, or
 * `SNAKEPIT_TOKEN`). The same rules as `remotePythonAdapter`'s options; the generated module's
 * header records these options, never the token.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseEndpoint, type RemoteTlsOptions } from '@snakepit/sdk/adapter';
import type { OptionSpecs } from '../arguments.js';
import { isLoopback } from '../../remote/remote-options.js';
import type { RemoteWorkerInput } from './describe-adapter.js';

export const remoteTypesOptions = {
  endpoint: { kind: 'string', value: 'HOST:PORT', description: 'read the tools of a running worker server instead of starting --adapter' },
  ca: { kind: 'string', value: 'PEM', description: 'with --endpoint: the CA file the server certificate chains to' },
  cert: { kind: 'string', value: 'PEM', description: 'with --endpoint: a client certificate file, for mutual TLS' },
  key: { kind: 'string', value: 'PEM', description: 'with --endpoint: the client certificate key file' },
  'server-name': { kind: 'string', value: 'NAME', description: "with --endpoint: the name the server certificate carries; default: the endpoint's host" },
  plaintext: { kind: 'boolean', description: 'with --endpoint on loopback: no TLS' },
  'token-file': { kind: 'string', value: 'PATH', description: "with --endpoint: the server's token (first line); default: $SNAKEPIT_TOKEN" },
} satisfies OptionSpecs;

type RemoteOptions = { [Name in keyof typeof remoteTypesOptions]?: (typeof remoteTypesOptions)[Name]['kind'] extends 'boolean' ? boolean : string };

async function readText(cwd: string, file: string, what: string): Promise<string | { problem: string }> {
  try {
    return await readFile(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    return { problem: `cannot read ${what} ${file}: ${(error as Error).message}` };
  }
}

/** The server to connect to and the words that name it in the generated header, or the problem with the options. */
export async function remoteSource(
  options: RemoteOptions,
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ input: RemoteWorkerInput; words: string[] } | { problem: string }> {
  const endpoint = options.endpoint!;
  const address = parseEndpoint(endpoint);
  if (address === undefined) return { problem: `--endpoint must be "host:port" or "[ipv6]:port", got "${endpoint}"` };
  const words = ['--endpoint', endpoint];
  let tls: RemoteTlsOptions | 'plaintext';
  if (options.plaintext === true) {
    if (options.ca !== undefined || options.cert !== undefined || options.key !== undefined || options['server-name'] !== undefined) {
      return { problem: '--plaintext cannot be combined with --ca, --cert, --key or --server-name' };
    }
    if (!isLoopback(address.host)) return { problem: `--plaintext is for servers on loopback only; ${address.host} is not, so give --ca` };
    tls = 'plaintext';
    words.push('--plaintext');
  } else {
    if (options.ca === undefined) return { problem: '--endpoint needs --ca PEM (or --plaintext for a server on loopback)' };
    if ((options.cert === undefined) !== (options.key === undefined)) return { problem: 'mutual TLS needs both --cert and --key' };
    const ca = await readText(cwd, options.ca, 'the --ca file');
    if (typeof ca !== 'string') return ca;
    tls = { ca };
    words.push('--ca', options.ca);
    if (options.cert !== undefined && options.key !== undefined) {
      const cert = await readText(cwd, options.cert, 'the --cert file');
      if (typeof cert !== 'string') return cert;
      const key = await readText(cwd, options.key, 'the --key file');
      if (typeof key !== 'string') return key;
      tls = { ...tls, cert, key };
      words.push('--cert', options.cert, '--key', options.key);
    }
    if (options['server-name'] !== undefined) {
      tls = { ...tls, serverName: options['server-name'] };
      words.push('--server-name', options['server-name']);
    }
  }
  let token = env.SNAKEPIT_TOKEN;
  if (options['token-file'] !== undefined) {
    const text = await readText(cwd, options['token-file'], 'the --token-file');
    if (typeof text !== 'string') return text;
    token = text.split('\n').map((line) => line.trim()).find((line) => line !== '');
    words.push('--token-file', options['token-file']);
  }
  if (token === undefined || token.trim() === '') return { problem: "--endpoint needs the server's token: --token-file PATH, or SNAKEPIT_TOKEN" };
  return { input: { endpoint, token: token.trim(), tls, timeoutMs }, words };
}
