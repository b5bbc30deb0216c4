/**
 * Certificates for TLS tests, made by the real `openssl` CLI in a fresh temporary folder: a CA, a
 * server certificate and a client certificate (mTLS) signed by it, and a second, unrelated CA with
 * a client certificate of its own, for "wrong CA" tests on either side. EC P-256 keys, valid for
 * two days, each certificate with a random serial (no serial file, so leaves are signed in
 * parallel). A missing openssl is an error naming what to install, never a skipped test.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** subjectAltName entries of the server certificate unless `serverSans` replaces them. */
export const defaultServerSans: readonly string[] = ['DNS:localhost', 'IP:127.0.0.1'];

export interface TlsFixtureOptions {
  /** The server certificate's subjectAltName entries (`DNS:name`, `IP:address`). Default: `defaultServerSans`. */
  serverSans?: readonly string[];
  /** Entries added to `serverSans`, e.g. `['IP:127.0.0.2', 'DNS:fleet.test']`. */
  extraServerSans?: readonly string[];
}

/** A certificate and its private key: PEM text, and the files holding it. */
export interface PemPair {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

export interface TlsFixture {
  /** The temporary folder holding every file. */
  dir: string;
  /** The CA that signed `server` and `client`. */
  ca: PemPair;
  /** Server certificate (extendedKeyUsage serverAuth) with the requested subjectAltNames. */
  server: PemPair;
  /** Client certificate (extendedKeyUsage clientAuth), for mTLS. */
  client: PemPair;
  /** A CA unrelated to `ca`: trusting it instead of `ca` makes the server's certificate unverifiable. */
  otherCa: PemPair;
  /** A client certificate signed by `otherCa`, which a server requiring clients of `ca` refuses. */
  strangerClient: PemPair;
  /** The subjectAltName entries `server` got. */
  serverSans: readonly string[];
  /** Removes the folder. Idempotent. */
  cleanup(): Promise<void>;
}

export const missingOpensslMessage =
  'openssl was not found: the TLS tests make their certificates with the openssl CLI. ' +
  'Install it (Debian: `apt-get install -y openssl`).';

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir, timeout: 30_000 });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(missingOpensslMessage);
    throw new Error(`openssl ${args.join(' ')} failed: ${failure.stderr?.trim() || failure.message}`);
  }
}

async function pair(dir: string, name: string): Promise<PemPair> {
  const certPath = path.join(dir, `${name}.crt`);
  const keyPath = path.join(dir, `${name}.key`);
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return { cert, key, certPath, keyPath };
}

const serial = () => `0x${randomBytes(16).toString('hex')}`;

/** A self-signed CA certificate `<name>.crt` and its key `<name>.key`. */
async function makeCa(dir: string, name: string, commonName: string): Promise<PemPair> {
  await openssl(dir, [
    'req', '-x509', ...ecKey,
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-set_serial', serial(),
    '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-addext', 'subjectKeyIdentifier=hash',
  ]);
  return pair(dir, name);
}

/** A leaf certificate `<name>.crt` signed by the CA `ca`, with `extensions` (extfile lines) added. */
async function makeLeaf(dir: string, name: string, ca: string, extensions: string[]): Promise<PemPair> {
  await writeFile(
    path.join(dir, `${name}.ext`),
    ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyAgreement',
      'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid,issuer', ...extensions, ''].join('\n'),
  );
  await openssl(dir, ['req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=snakepit test ${name}`]);
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', serial(),
    '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ]);
  return pair(dir, name);
}

export async function makeTlsFixture(options: TlsFixtureOptions = {}): Promise<TlsFixture> {
  const serverSans = [...(options.serverSans ?? defaultServerSans), ...(options.extraServerSans ?? [])];
  if (serverSans.length === 0) throw new Error('the server certificate needs at least one subjectAltName');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'snakepit-tls-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const [ca, otherCa] = await Promise.all([
      makeCa(dir, 'ca', 'snakepit test CA'),
      makeCa(dir, 'other-ca', 'snakepit test other CA'),
    ]);
    const [server, client, strangerClient] = await Promise.all([
      makeLeaf(dir, 'server', 'ca', [`subjectAltName=${serverSans.join(',')}`, 'extendedKeyUsage=serverAuth']),
      makeLeaf(dir, 'client', 'ca', ['extendedKeyUsage=clientAuth']),
      makeLeaf(dir, 'stranger-client', 'other-ca', ['extendedKeyUsage=clientAuth']),
    ]);
    return { dir, ca, server, client, otherCa, strangerClient, serverSans, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
