/**
 * The pool over worker servers: `size` × `python -m snakepit_bridge.serve` on loopback
 * (lib/worker-servers.mjs), each hosting the bench adapter in process mode, reached with
 * remotePythonAdapter over TLS (certificates from lib/tls.mjs; the pool trusts their CA) or
 * plaintext, with a token. The same shape as openSnakepit; Python CPU is the servers' processes.
 * Opening waits for every worker, so no figure includes a start or a TLS handshake.
 *
 * `sharedBy: N` opens N pools over the same servers (as N Node processes would), and calls go to
 * them in turn: each pool sends a server at most its capacity, so the servers see N pools' calls at
 * once and queue (`admissionQueue`, their `--admission-queue`) or refuse them.
 */
import { createPool } from '@snakepit/sdk';
import { allWorkersReady } from '../lib/all-ready.mjs';
import { remotePythonAdapter } from '@snakepit/adapter-python';
import { makeCertificates } from '../lib/tls.mjs';
import { startWorkerServers } from '../lib/worker-servers.mjs';

export async function openRemoteSnakepit({ size = 1, remote, sharedBy = 1, admissionQueue }) {
  if (remote !== 'tls' && remote !== 'plaintext') throw new TypeError(`remote must be 'tls' or 'plaintext', got ${remote}`);
  const certificates = remote === 'tls' ? await makeCertificates() : undefined;
  let servers;
  const pools = [];
  const close = async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    await servers?.stop();
    await certificates?.cleanup();
  };
  try {
    servers = await startWorkerServers({ count: size, tls: certificates, admissionQueue });
    const startedAt = performance.now();
    const security = certificates ? { tls: { ca: certificates.ca } } : { plaintext: true };
    for (let index = 0; index < sharedBy; index++) {
      const pool = createPool({ adapter: remotePythonAdapter({ endpoints: servers.endpoints, token: servers.token, ...security }), maxQueue: 10_000 });
      pools.push(pool);
      await allWorkersReady(pool, size);
    }
    const readyMs = performance.now() - startedAt;
    const pids = [...servers.pids];
    let turn = 0;
    const next = () => pools[turn++ % pools.length];
    return {
      pool: pools[0],
      readyMs,
      pythonPids: () => pids,
      call: (tool, args) => next().execute(tool, args),
      stream: (tool, args) => next().executeStream(tool, args),
      /** Calls the servers refused for want of room and the pools put back, over every pool. */
      refusals: () => pools.reduce((total, pool) => total + pool.stats().counters.refusals, 0),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
