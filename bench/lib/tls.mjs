/**
 * Certificates for the remote peer over TLS, made by the `openssl` CLI in a temporary folder: an
 * EC P-256 CA and a server certificate it signed, for IP:127.0.0.1 (the loopback servers). Valid
 * for one day; the folder `dir` goes on `cleanup()`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(dir, args) {
  try {
    await run('openssl', args, { cwd: dir, timeout: 30_000 });
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error('openssl was not found: the TLS peer makes its certificates with it (`apt-get install -y openssl`)');
    throw new Error(`openssl ${args.join(' ')} failed: ${error.stderr?.trim() || error.message}`);
  }
}

export async function makeCertificates() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'snakepit-bench-tls-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await openssl(dir, ['req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=snakepit bench CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    await writeFile(path.join(dir, 'server.ext'), 'basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    await openssl(dir, ['req', ...ecKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=snakepit bench server']);
    await openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
      '-extfile', 'server.ext', '-out', 'server.crt']);
    return {
      dir,
      ca: await readFile(path.join(dir, 'ca.crt'), 'utf8'),
      certPath: path.join(dir, 'server.crt'),
      keyPath: path.join(dir, 'server.key'),
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
