/**
 * 16 MiB of random bytes to Python and back. The pool and the floors carry them raw; python-shell's
 * JSON mode cannot, so its round trip pays base64 both ways (encoding and decoding on both sides
 * is timed: it is what that design costs).
 */
import { randomBytes } from 'node:crypto';
import { timeRepeats } from '../lib/repeat.mjs';
import { median } from '../lib/stats.mjs';
import { expectSameBytes } from '../lib/verify.mjs';
import { peers, withPeer } from '../peers/index.mjs';

/** A function making one verified round trip of `payload` on an opened peer. */
function roundTrip(peer, opened, payload) {
  if (peer.kind === 'floor') return async () => expectSameBytes(await opened.exchange(payload), payload, 'floor echo');
  if (peer.kind === 'python-shell') {
    return async () => {
      const answer = await opened.call('echo_base64', { data: payload.toString('base64') });
      expectSameBytes(Buffer.from(answer, 'base64'), payload, 'echo_base64');
    };
  }
  return async () => expectSameBytes(await opened.call('echo_bytes', { data: payload }), payload, 'echo_bytes');
}

export default {
  id: 'binary-round-trip',
  title: 'binary round trip',
  peers: [peers.pool(1), peers.pythonShell, peers.http2, peers.connect],
  headline: ['roundTripMs'],
  details: ['mebibytesPerSecond', 'nodeCpuMsPerRoundTrip', 'pythonCpuMsPerRoundTrip'],
  settings: {
    // python-shell takes seconds per round trip (see peers/python-shell.mjs), hence the budget.
    full: { mebibytes: 16, warmUps: 1, repeats: 6, budgetMs: 3000 },
    quick: { mebibytes: 16, warmUps: 1, repeats: 3, budgetMs: 1500 },
    smoke: { mebibytes: 1, warmUps: 0, repeats: 1 },
  },

  measure: (peer, { mebibytes, warmUps, ...repeats }) =>
    withPeer(peer, async (opened) => {
      const call = roundTrip(peer, opened, randomBytes(mebibytes * 2 ** 20));
      for (let warmUp = 0; warmUp < warmUps; warmUp++) await call();
      const { durations, nodeCpuMs, pythonCpuMs } = await timeRepeats(call, { ...repeats, pythonPids: opened.pythonPids() });
      const roundTripMs = median(durations);
      return [
        {
          variant: `${mebibytes} MiB`,
          metrics: {
            roundTripMs,
            mebibytesPerSecond: mebibytes / (roundTripMs / 1000),
            nodeCpuMsPerRoundTrip: nodeCpuMs / durations.length,
            pythonCpuMsPerRoundTrip: pythonCpuMs / durations.length,
          },
        },
      ];
    }),
};
