/**
 * The highest load the fleet could sustain, resource by resource, from the mean demand of a call
 * on each (utilisation law: a resource of n units busy d ms per call carries at most n·1000/d
 * calls/s). These ignore queueing, refusals and collisions, so a run keeps up with its load only
 * below the smallest of them; which one is smallest names the resource a plan should look at
 * first. All but one also cap throughput; the hashing bound (strict affinity) caps the load that
 * can be sustained: past it the hottest worker's calls pile up while the others still serve theirs.
 */
import { jitterOf } from './params.mjs';
import { spreadOf } from './rendezvous.mjs';
import { sessionPopulation } from './load.mjs';

const framingBytes = 100;
const spreadCache = new Map();

/** The hottest endpoint's share of session calls under rendezvous hashing (cached per population and fleet). */
export function sessionSpread(params) {
  const endpointIds = [];
  for (let host = 0; host < params.hosts; host += 1) {
    for (let slot = 0; slot < params.workersPerHost; slot += 1) endpointIds.push(`10.0.${host}.1:${50051 + slot}`);
  }
  const { count, distribution, exponent, hotShare } = params.sessions;
  const key = JSON.stringify([count, distribution, exponent, hotShare, endpointIds.length, params.hosts]);
  if (!spreadCache.has(key)) {
    const population = sessionPopulation(params.sessions);
    spreadCache.set(key, spreadOf(population.ids, population.probabilities, endpointIds));
  }
  return spreadCache.get(key);
}

function mean(classes, of) {
  return classes.reduce((sum, callClass) => sum + callClass.share * of(callClass), 0);
}

export function capacityBounds(costs, params) {
  const classes = params.classes;
  const jitter = jitterOf(costs, params);
  const endpoints = params.hosts * params.workersPerHost;
  const threads = params.threadsPerWorker;
  const nodeMs = mean(classes, (c) => c.nodeSendMs + c.nodeReceiveMs + c.nodeOffPathMs);
  const cpuMs = mean(classes, (c) => c.pythonCpuMs);
  const seatMs = mean(classes, (c) => c.pythonCpuMs + c.pythonWaitMs) + jitter.share * jitter.meanMs;
  const bytesPerMs = (params.nicGbps * 1e9) / 8 / 1000;
  const wireMs = (bytes) => (Number.isFinite(params.nicGbps) ? (bytes + framingBytes) / bytesPerMs : 0);
  const roundTripMs = mean(classes, (c) => c.nodeSendMs + c.nodeReceiveMs + wireMs(c.requestBytes) + wireMs(c.responseBytes)) + seatMs + params.rttMs;

  const bounds = {
    'Node event loops': (params.replicas * 1000) / nodeMs,
    'worker seats': (endpoints * threads * 1000) / seatMs,
    'host cores': (params.hosts * params.hostCores * 1000) / cpuMs,
    'seat round trips': (params.replicas * endpoints * threads * 1000) / roundTripMs,
  };
  if (threads > 1) bounds['GILs'] = (endpoints * 1000) / cpuMs;
  if (Number.isFinite(params.nicGbps)) {
    const inMs = mean(classes, (c) => wireMs(c.requestBytes));
    const outMs = mean(classes, (c) => wireMs(c.responseBytes));
    bounds['host NICs'] = (params.hosts * 1000) / Math.max(inMs, outMs);
  }
  const sessions = params.sessions;
  let spread;
  if (sessions.share > 0) {
    spread = sessionSpread(params);
    // Strict affinity: the hottest worker gets its share of session calls whatever the others do.
    if (sessions.affinity !== 'hint') bounds['hottest worker (hashing)'] = (threads * 1000) / seatMs / (sessions.share * spread.max);
  }
  let binding;
  for (const [resource, value] of Object.entries(bounds)) {
    if (binding === undefined || value < bounds[binding]) binding = resource;
  }
  return {
    bounds,
    binding,
    capacity: bounds[binding],
    perCall: { nodeMs, cpuMs, seatMs, roundTripMs },
    spread,
  };
}
