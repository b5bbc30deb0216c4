/**
 * A closed-loop load: `inFlight` lanes each make one call after another, so that many calls are
 * outstanding at any time. Runs until `durationMs` has passed and at least `minimumCalls` have
 * completed (the smoke test runs on counts alone), after `warmUpCalls` unmeasured calls. Every
 * call is expected to verify its own answer and throw when it is wrong.
 */
import { startCpuMeter } from './cpu.mjs';
import { latencySummary } from './stats.mjs';

export async function runLoad({ call, inFlight = 1, durationMs, minimumCalls = 1, warmUpCalls = 0, pythonPids = [] }) {
  await runLanes(call, inFlight, (started) => started < warmUpCalls);

  const latencies = [];
  const until = performance.now() + durationMs;
  const stopCpuMeter = startCpuMeter(pythonPids);
  const startedAt = performance.now();
  const keepGoing = () => performance.now() < until || latencies.length < minimumCalls;
  await runLanes(call, inFlight, keepGoing, (latency) => latencies.push(latency));
  const elapsedMs = performance.now() - startedAt;
  const { nodeCpuMs, pythonCpuMs } = stopCpuMeter();
  return {
    calls: latencies.length,
    callsPerSecond: (latencies.length / elapsedMs) * 1000,
    ...latencySummary(latencies),
    nodeCpuMsPerCall: nodeCpuMs / latencies.length,
    pythonCpuMsPerCall: pythonCpuMs / latencies.length,
    // Python CPU time over wall time: ~2 means both cores of this machine went to Python.
    pythonCores: pythonCpuMs / elapsedMs,
  };
}

/** Each lane starts a call while `shouldStart(callsStartedSoFar)` holds. */
async function runLanes(call, lanes, shouldStart, onLatency = () => {}) {
  let started = 0;
  async function lane() {
    while (shouldStart(started)) {
      started++;
      const callStartedAt = performance.now();
      await call();
      onLatency(performance.now() - callStartedAt);
    }
  }
  await Promise.all(Array.from({ length: lanes }, lane));
}
