/**
 * Calls that each do ~2.5 ms of pure-Python work (a loop holding the GIL), 8 in flight: what the
 * pool's processes buy over one Python process. The loop's length is calibrated once per run, in
 * the parent, so every peer in every round does exactly the same work.
 */
import { spawnSync } from 'node:child_process';
import { runLoad } from '../lib/load.mjs';
import { benchPythonDirectory, pythonCommand } from '../lib/python.mjs';
import { expectEqual } from '../lib/verify.mjs';
import { peers, withPeer } from '../peers/index.mjs';

const targetMs = 2.5;

/** What bench_work.spin(iterations) returns, computed here to check every answer. */
function spinResult(iterations) {
  let total = 0;
  for (let index = 0; index < iterations; index++) total += (index * index) % 7;
  return total;
}

/**
 * The iteration count that takes `targetMs` alone: the fastest of many timed runs (the least
 * disturbed) scaled to the target, twice, since the loop is not quite linear in its length.
 */
function calibrate() {
  const script = `
import json, time, bench_work
def fastest_ms(iterations, runs=60):
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        bench_work.spin(iterations)
        best = min(best, time.perf_counter() - started)
    return best * 1000
iterations = 20000
for _ in range(2):
    iterations = round(iterations * ${targetMs} / fastest_ms(iterations))
print(json.dumps({"iterations": iterations, "aloneMs": fastest_ms(iterations)}))
`;
  const run = spawnSync(pythonCommand(), ['-c', script], { cwd: benchPythonDirectory, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`calibrating the pure-Python loop failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

export default {
  id: 'python-work',
  title: `~${targetMs} ms of pure-Python work per call`,
  peers: [peers.pool(1), peers.pool(2), peers.pool(4), peers.threadedPool(4), peers.pythonShell],
  headline: ['callsPerSecond'],
  details: ['p50Ms', 'pythonCpuMsPerCall', 'pythonCores'],
  settings: {
    full: { inFlight: 8, durationMs: 1500, warmUpCalls: 40 },
    quick: { inFlight: 8, durationMs: 1000, warmUpCalls: 16 },
    // Tiny sizes: a short loop, no calibration.
    smoke: { inFlight: 8, durationMs: 0, warmUpCalls: 8, minimumCalls: 16, calibration: { iterations: 1000, aloneMs: Number.NaN } },
  },

  prepare: (settings) => ({ ...settings, calibration: settings.calibration ?? calibrate() }),

  measure: (peer, { calibration, ...load }) =>
    withPeer(peer, async (opened) => {
      const { iterations } = calibration;
      const expected = spinResult(iterations);
      const call = async () => expectEqual(await opened.call('spin', { iterations }), expected, 'spin');
      return [{ variant: `${load.inFlight} in flight`, metrics: await runLoad({ call, pythonPids: opened.pythonPids(), ...load }) }];
    }),
};
