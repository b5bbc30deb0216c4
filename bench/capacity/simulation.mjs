/**
 * One run of the model: builds the fleet from the parameters, lets the traffic in for
 * `warmupMs + measureMs` of simulated time, and returns what happened in the measured window
 * (throughput, latency percentiles, failures, refusals, utilisation of every resource) plus the
 * counts the tests check (every call arrived is completed, failed or still in the system).
 */
import { percentile } from '../lib/stats.mjs';
import { EventLoop } from './events.mjs';
import { createTraffic, startArrivals } from './load.mjs';
import { Network } from './network.mjs';
import { jitterOf } from './params.mjs';
import { createRandom } from './random.mjs';
import { createOwnerTable } from './rendezvous.mjs';
import { Replica, createView } from './replica.mjs';
import { WorkerHost, WorkerServer } from './worker.mjs';

const failureReasons = ['queue_timeout', 'pool_saturated', 'worker_busy'];

export function simulate(costs, params) {
  const startedAt = performance.now();
  const loop = new EventLoop();
  const random = createRandom(params.seed);
  const windowStart = params.warmupMs;
  const endTime = params.warmupMs + params.measureMs;
  const inWindow = () => loop.now >= windowStart;

  const jitter = jitterOf(costs, params);
  const drawJitter = () => (jitter.share > 0 && random.next() < jitter.share ? random.exponential(jitter.meanMs) : 0);

  const totals = { arrived: 0, completed: 0, failed: 0, refusals: 0 };
  const window = {
    arrived: 0,
    completed: 0,
    failures: Object.fromEntries(failureReasons.map((reason) => [reason, 0])),
    refusals: 0,
    latencies: [],
    waits: [],
    sessionCalls: 0,
    onOwner: 0,
    servedBy: null,
  };

  const sim = {
    loop,
    random,
    params,
    network: new Network(loop, params.rttMs),
    refusalNodeMs: costs[params.transport].nodeReceiveMs,
    endpoints: [],
    complete(call) {
      call.state = 'done';
      totals.completed += 1;
      if (inWindow()) {
        window.completed += 1;
        window.latencies.push(loop.now - call.arrival);
        window.waits.push(call.waitMs);
        window.servedBy[call.endpoint] += 1;
        if (call.owner >= 0) {
          window.sessionCalls += 1;
          if (call.endpoint === call.owner) window.onOwner += 1;
        }
      }
      call.onSettled?.();
    },
    fail(call, reason) {
      call.state = 'failed';
      totals.failed += 1;
      if (inWindow()) window.failures[reason] += 1;
      call.onSettled?.();
    },
    refused() {
      totals.refusals += 1;
      if (inWindow()) window.refusals += 1;
    },
    watchDeadline(call) {
      if (call.deadlineWatched) return;
      call.deadlineWatched = true;
      loop.at(Math.max(loop.now, call.deadline), () => replicas[call.replica].expire(call));
    },
  };

  const hosts = Array.from({ length: params.hosts }, (_, index) => new WorkerHost(loop, params, index));
  const answer = (call, endpoint, outcome) => {
    const bytes = outcome === 'done' ? call.callClass.responseBytes : 0;
    sim.network.toReplica(endpoint.host, bytes, () => replicas[call.replica].answered(call, outcome));
  };
  for (const host of hosts) {
    for (let slot = 0; slot < params.workersPerHost; slot += 1) {
      sim.endpoints.push(new WorkerServer(loop, params, host, sim.endpoints.length, { answer, jitterOf: drawJitter }));
    }
  }
  window.servedBy = new Float64Array(sim.endpoints.length);
  const sharedView = params.routing === 'ideal' ? createView(random, sim.endpoints, { ideal: true, admissionQueue: params.admissionQueue }) : undefined;
  const replicas = Array.from(
    { length: params.replicas },
    (_, index) => new Replica(sim, index, sharedView ?? createView(random, sim.endpoints)),
  );
  // An endpoint freed: with its own view a replica serves its own queue; with one view for all,
  // the longest-waiting call of any replica goes next, as in one pool.
  sim.freed = (replica, index) => {
    if (sharedView === undefined) return replica.pump(index);
    for (;;) {
      let oldest;
      for (const candidate of replicas) {
        if (!candidate.looksFree(index)) return;
        const call = candidate.oldestFor(index);
        if (call !== undefined && (oldest === undefined || call.sequence < oldest.call.sequence)) oldest = { candidate, call };
      }
      if (oldest === undefined) return;
      oldest.candidate.dispatchOldest(index);
    }
  };
  const ownerOf = createOwnerTable(sim.endpoints.map((endpoint) => endpoint.id));
  const traffic = createTraffic(params, random);

  let sequence = 0;
  const submit = (replicaIndex, onSettled) => {
    const { callClass, sessionId } = traffic.draw();
    const call = {
      sequence: ++sequence,
      replica: replicaIndex,
      callClass,
      sessionId,
      owner: sessionId === undefined ? -1 : ownerOf(sessionId),
      arrival: loop.now,
      deadline: loop.now + params.queueTimeoutMs,
      deadlineWatched: false,
      state: 'new',
      endpoint: -1,
      refusals: 0,
      waitMs: 0,
      queuedAt: 0,
      sentAt: 0,
      arrivedAtWorker: 0,
      admission: undefined,
      onSettled,
    };
    totals.arrived += 1;
    if (inWindow()) window.arrived += 1;
    replicas[replicaIndex].route(call);
  };

  let inSystemAtStart = 0;
  loop.at(windowStart, () => {
    inSystemAtStart = totals.arrived - totals.completed - totals.failed;
    for (const replica of replicas) {
      replica.eventLoop.busy.startWindow();
      replica.seats.startWindow();
    }
    for (const endpoint of sim.endpoints) {
      endpoint.running.startWindow();
      endpoint.gil?.busy.startWindow();
    }
    for (const host of hosts) {
      host.cores.busy.startWindow();
      host.nicIn.server?.busy.startWindow();
      host.nicOut.server?.busy.startWindow();
    }
  });
  startArrivals(loop, params, random, submit, endTime);
  loop.runUntil(endTime);

  const seconds = params.measureMs / 1000;
  const latencies = window.latencies.sort((a, b) => a - b);
  const waits = window.waits.sort((a, b) => a - b);
  const failed = Object.values(window.failures).reduce((sum, count) => sum + count, 0);
  const stats = (values) => ({ mean: values.reduce((sum, value) => sum + value, 0) / values.length, max: Math.max(...values) });
  const served = [...window.servedBy];
  const servedTotal = served.reduce((sum, count) => sum + count, 0);
  const inQueues = replicas.reduce((sum, replica) => sum + replica.queued, 0);

  return {
    offeredPerSecond: window.arrived / seconds,
    throughputPerSecond: window.completed / seconds,
    failedPerSecond: failed / seconds,
    failedShare: failed / Math.max(1, failed + window.completed),
    failures: window.failures,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    meanMs: latencies.reduce((sum, value) => sum + value, 0) / Math.max(1, latencies.length),
    p99WaitMs: percentile(waits, 0.99),
    refusalsPerCall: window.refusals / Math.max(1, window.completed),
    refusalsPerSecond: window.refusals / seconds,
    // Calls in the system at the end minus at the start of the window: grows without bound when overloaded.
    backlogGrowth: totals.arrived - totals.completed - totals.failed - inSystemAtStart,
    arrivedInWindow: window.arrived,
    affinityHit: window.sessionCalls > 0 ? window.onOwner / window.sessionCalls : Number.NaN,
    // The busiest endpoint's share of the calls served × the number of endpoints (1: even).
    servedMaxOverMean: servedTotal > 0 ? (Math.max(...served) / servedTotal) * served.length : Number.NaN,
    utilisation: {
      nodeLoop: stats(replicas.map((replica) => replica.eventLoop.utilisation())),
      replicaSeats: stats(replicas.map((replica) => replica.seatUtilisation())),
      workerSeats: stats(sim.endpoints.map((endpoint) => endpoint.utilisation())),
      cores: stats(hosts.map((host) => host.cores.utilisation())),
      gil: sim.endpoints[0].gil ? stats(sim.endpoints.map((endpoint) => endpoint.gil.utilisation())) : { mean: 0, max: 0 },
      nic: stats(hosts.flatMap((host) => [host.nicIn.utilisation(), host.nicOut.utilisation()])),
      // Share of the workers' capacity spent answering 'busy'.
      refusals: (window.refusals * params.refusalPythonMs) / (params.measureMs * sim.endpoints.reduce((sum, e) => sum + e.capacity, 0)),
    },
    counts: {
      ...totals,
      inSystem: totals.arrived - totals.completed - totals.failed,
      inQueues,
      running: sim.endpoints.reduce((sum, endpoint) => sum + endpoint.running.value, 0),
      admissionWaiting: sim.endpoints.reduce((sum, endpoint) => sum + endpoint.admissionLength, 0),
      inFlight: replicas.reduce((sum, replica) => sum + replica.seats.value, 0),
    },
    events: loop.processed,
    wallMs: performance.now() - startedAt,
  };
}
