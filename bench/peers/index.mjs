/**
 * Every peer a scenario can run, named by a plain object so a measurement can be described in
 * JSON and run in a fresh Node process:
 *   { kind: 'snakepit', size, threadsPerWorker?, channel?, sessionStore? }   the pool (peers/snakepit.mjs);
 *                                                   channel false: every call its own RPC;
 *                                                   sessionStore 'redis': sessions in a local redis-server
 *   { kind: 'snakepit', size, remote }              the pool over `size` loopback worker servers
 *                                                   (peers/remote.mjs); remote 'tls' or 'plaintext';
 *                                                   sharedBy: N pools over them, admissionQueue: their --admission-queue
 *   { kind: 'python-shell' }                        one python-shell process (peers/python-shell.mjs)
 *   { kind: 'floor', transport }                    the bare grpcio server (floor/floor-peer.mjs)
 */

export const peers = {
  pool: (size) => ({ kind: 'snakepit', size }),
  /** The pool with its call channel turned off, the baseline of the channel's gain. */
  poolWithoutChannel: (size) => ({ kind: 'snakepit', size, channel: false }),
  /** The pool with its sessions in Redis (@snakepit/session-store-redis) instead of in memory. */
  poolWithRedisStore: (size) => ({ kind: 'snakepit', size, sessionStore: 'redis' }),
  threadedPool: (threadsPerWorker) => ({ kind: 'snakepit', size: 1, threadsPerWorker }),
  /** remotePythonAdapter over `size` worker servers (`python -m snakepit_bridge.serve`) on loopback: 'tls' or 'plaintext'. */
  remotePool: (size, remote) => ({ kind: 'snakepit', size, remote }),
  /** Two pools (two Node processes' worth) sharing one loopback worker server with this `--admission-queue`. */
  sharedRemoteWorker: (admissionQueue) => ({ kind: 'snakepit', size: 1, remote: 'plaintext', sharedBy: 2, admissionQueue }),
  pythonShell: { kind: 'python-shell' },
  http2: { kind: 'floor', transport: 'http2' },
  http2Bidi: { kind: 'floor', transport: 'http2-bidi' },
  connect: { kind: 'floor', transport: 'connect' },
};

const floorLabels = {
  http2: 'floor: node:http2',
  'http2-bidi': 'floor: node:http2 bidi',
  connect: 'floor: connect-node',
};

export function peerLabel(peer) {
  if (peer.kind === 'snakepit') {
    if (peer.sharedBy) return `2 remote pools sharing 1 server, --admission-queue ${peer.admissionQueue}`;
    if (peer.remote) return `snakepit remote pool(${peer.size}), ${peer.remote === 'tls' ? 'TLS' : 'plaintext'}`;
    if (peer.threadsPerWorker) return `snakepit threaded pool(${peer.size})×${peer.threadsPerWorker}`;
    if (peer.sessionStore === 'redis') return `snakepit pool(${peer.size}), Redis store`;
    return peer.channel === false ? `snakepit pool(${peer.size}), no channel` : `snakepit pool(${peer.size})`;
  }
  if (peer.kind === 'python-shell') return 'python-shell';
  return floorLabels[peer.transport];
}

/** Imports only the peer's own modules, so a measurement process holds no other peer's code. */
export async function openPeer(peer) {
  if (peer.kind === 'snakepit' && peer.remote) return (await import('./remote.mjs')).openRemoteSnakepit(peer);
  if (peer.kind === 'snakepit') return (await import('./snakepit.mjs')).openSnakepit(peer);
  if (peer.kind === 'python-shell') return (await import('./python-shell.mjs')).openPythonShell();
  return (await import('../floor/floor-peer.mjs')).openFloorPeer(peer);
}

/** Opens the peer, runs `use(opened)` and closes the peer whatever happens. */
export async function withPeer(peer, use) {
  const opened = await openPeer(peer);
  try {
    return await use(opened);
  } finally {
    await opened.close();
  }
}
