/**
 * What one call costs, read from a run of `npm run bench` (bench/results/latest.json by default):
 * the only place the model's numbers come from. Every figure keeps the scenario and peer it was
 * taken from, so the report can say what the model stands on.
 *
 * How a measured tiny call is split up (see BENCHMARKS.md, "Capacity past one machine"):
 * - Python's CPU per call is the worker's service time: the worker is busy for all of it.
 * - The part of Node's CPU on the call's path is what the sequential p50 leaves after Python's
 *   share (half to send, half to receive); the rest of Node's CPU per call is spent off the path
 *   (bookkeeping after the answer is delivered): it loads the event loop but delays no call alone.
 * - The rest of the measured latency distribution (p99, and the mean from calls/s) is "jitter":
 *   with probability `share` a call holds its worker an extra exponential time of mean `meanMs`,
 *   fitted so that p50, p99 and the mean of the sequential call are reproduced.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const defaultResultsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results', 'latest.json');

/** Which measured rows give the CPU per tiny call: one call alone, or the pool under load. */
export const costProfiles = {
  sequential: {
    channel: ['tiny-sequential', '1 in flight', 'snakepit pool(1)'],
    unary: ['tiny-sequential', '1 in flight', 'snakepit pool(1), no channel'],
  },
  loaded: {
    channel: ['tiny-in-flight', '64 in flight', 'snakepit pool(4)'],
    unary: ['tiny-in-flight', '64 in flight', 'snakepit pool(2), no channel'],
  },
};

function rowOf(results, [scenario, variant, peer]) {
  const row = results.rows.find((candidate) => candidate.scenario === scenario && candidate.variant === variant && candidate.peer === peer);
  if (row === undefined) throw new Error(`${results.file}: no row ${scenario} / ${variant} / ${peer}: run \`npm run bench\` first`);
  return row;
}

function medianOf(results, key, metric) {
  const value = rowOf(results, key).metrics[metric]?.median;
  if (!Number.isFinite(value)) throw new Error(`${results.file}: ${key.join(' / ')} has no ${metric}`);
  return { value, from: `${key.join(' / ')}: ${metric}` };
}

/**
 * Jitter that reproduces a sequential call's p50, p99 and mean: a call is delayed by Exp(mean h)
 * with probability p, so p·h = mean − p50 and h·ln(100·p) = p99 − p50. Of the two roots the one
 * with more frequent, shorter hiccups is taken (it also matches the measured max on the dev machine).
 */
export function fitJitter({ p50Ms, p99Ms, meanMs }) {
  const excessMean = meanMs - p50Ms;
  const excessP99 = p99Ms - p50Ms;
  if (!(excessMean > 0) || !(excessP99 > 0)) return { share: 0, meanMs: 0 };
  const p99Of = (share) => (excessMean / share) * Math.log(100 * share);
  // p99Of rises from 0 at p = 0.01 to its peak at p = e/100, then falls; search the falling side.
  let low = Math.E / 100;
  let high = 1;
  if (p99Of(low) < excessP99) return { share: low, meanMs: excessP99 };
  if (p99Of(high) > excessP99) return { share: 1, meanMs: excessMean };
  for (let step = 0; step < 60; step += 1) {
    const middle = (low + high) / 2;
    if (p99Of(middle) > excessP99) low = middle;
    else high = middle;
  }
  const share = (low + high) / 2;
  return { share, meanMs: excessMean / share };
}

function transportCosts(results, profile, transport) {
  const sequential = costProfiles.sequential[transport];
  const node = medianOf(results, costProfiles[profile][transport], 'nodeCpuMsPerCall');
  const python = medianOf(results, costProfiles[profile][transport], 'pythonCpuMsPerCall');
  const p50 = medianOf(results, sequential, 'p50Ms');
  const p99 = medianOf(results, sequential, 'p99Ms');
  const rate = medianOf(results, sequential, 'callsPerSecond');
  const pythonSequential = medianOf(results, sequential, 'pythonCpuMsPerCall');
  const onPath = Math.min(node.value, Math.max(0, p50.value - pythonSequential.value));
  return {
    nodeCpuMs: node.value,
    pythonCpuMs: python.value,
    nodeSendMs: onPath / 2,
    nodeReceiveMs: onPath / 2,
    nodeOffPathMs: node.value - onPath,
    jitter: fitJitter({ p50Ms: p50.value, p99Ms: p99.value, meanMs: 1000 / rate.value }),
    measured: { p50Ms: p50.value, p99Ms: p99.value, callsPerSecond: rate.value },
    from: [node.from, python.from, p50.from, p99.from, rate.from],
  };
}

/** The per-call costs of one results file. */
export function loadCosts({ file = defaultResultsFile, profile = 'sequential' } = {}) {
  if (!(profile in costProfiles)) throw new TypeError(`unknown cost profile ${profile}: one of ${Object.keys(costProfiles).join(', ')}`);
  const results = { ...JSON.parse(readFileSync(file, 'utf8')), file };
  const channel = transportCosts(results, profile, 'channel');
  const unary = transportCosts(results, profile, 'unary');

  // Pure-Python work: what a call of the calibrated loop costs beyond a tiny call, per ms of the loop alone.
  const workKey = ['python-work', '8 in flight', 'snakepit pool(1)'];
  const aloneMs = results.settings?.['python-work']?.calibration?.aloneMs;
  if (!Number.isFinite(aloneMs)) throw new Error(`${file}: no settings.python-work.calibration.aloneMs`);
  const workPython = medianOf(results, workKey, 'pythonCpuMsPerCall');
  const workNode = medianOf(results, workKey, 'nodeCpuMsPerCall');
  const tinyPython = medianOf(results, costProfiles.sequential.channel, 'pythonCpuMsPerCall');
  const tinyNode = medianOf(results, costProfiles.sequential.channel, 'nodeCpuMsPerCall');
  const work = {
    cpuFactor: Math.max(1, (workPython.value - tinyPython.value) / aloneMs),
    nodeExtraMs: Math.max(0, workNode.value - tinyNode.value),
    from: [workPython.from, workNode.from, `settings.python-work.calibration.aloneMs (${aloneMs.toFixed(2)} ms)`],
  };

  const streamKey = ['stream-throughput', '20000 chunks', 'snakepit pool(1)'];
  const chunkNode = medianOf(results, streamKey, 'nodeCpuMicrosecondsPerChunk');
  const chunkPython = medianOf(results, streamKey, 'pythonCpuMicrosecondsPerChunk');
  const stream = { nodeMsPerChunk: chunkNode.value / 1000, pythonMsPerChunk: chunkPython.value / 1000, from: [chunkNode.from, chunkPython.from] };

  // A binary round trip moves its payload once each way: CPU per MiB moved in one direction.
  const binaryKey = ['binary-round-trip', '16 MiB', 'snakepit pool(1)'];
  const mebibytes = results.settings?.['binary-round-trip']?.mebibytes ?? 16;
  const binaryNode = medianOf(results, binaryKey, 'nodeCpuMsPerRoundTrip');
  const binaryPython = medianOf(results, binaryKey, 'pythonCpuMsPerRoundTrip');
  const bytes = {
    nodeMsPerMiB: binaryNode.value / (2 * mebibytes),
    pythonMsPerMiB: binaryPython.value / (2 * mebibytes),
    from: [binaryNode.from, binaryPython.from],
  };

  // A refusal ("busy") is one small message each way on the worker: the bidi floor's Python CPU per call.
  const refusal = medianOf(results, ['tiny-sequential', '1 in flight', 'floor: node:http2 bidi'], 'pythonCpuMsPerCall');

  const machine = results.machine ?? {};
  return {
    profile,
    source: {
      file,
      startedAt: results.startedAt,
      mode: results.mode,
      gitCommit: machine.gitCommit,
      machine: `${machine.cpuModel ?? '?'}, ${machine.logicalCpus ?? '?'} vCPU, Node ${machine.node ?? '?'}, Python ${machine.python ?? '?'}, grpcio ${machine.grpcio ?? '?'}`,
    },
    channel,
    unary,
    work,
    stream,
    bytes,
    refusalPythonMs: refusal.value,
  };
}
