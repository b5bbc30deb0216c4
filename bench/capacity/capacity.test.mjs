// Invariants of the capacity model (bench/capacity): deterministic, a few seconds. Run by the bench
// workspace's `npm test` before the smoke run, or alone: node --test capacity/capacity.test.mjs
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capacityBounds } from './bounds.mjs';
import { fitJitter, loadCosts } from './costs.mjs';
import { EventLoop } from './events.mjs';
import { resolveParams } from './params.mjs';
import { createRandom } from './random.mjs';
import { owner, rank, spreadOf } from './rendezvous.mjs';
import { isBehind, limitOf } from './report.mjs';
import { simulate } from './simulation.mjs';

const costs = loadCosts();
const quick = { warmupMs: 200, measureMs: 1000 };
const run = (overrides) => {
  const params = resolveParams(costs, { ...quick, ...overrides });
  return { params, bound: capacityBounds(costs, params), result: simulate(costs, params) };
};

describe('event loop and randomness', () => {
  it('runs events in time order, ties in the order they were scheduled', () => {
    const loop = new EventLoop();
    const seen = [];
    for (const [time, label] of [[3, 'c'], [1, 'a'], [3, 'd'], [2, 'b'], [1, 'a2']]) loop.at(time, () => seen.push(label));
    loop.at(2, () => loop.after(0, () => seen.push('b-then')));
    loop.runUntil(10);
    assert.deepEqual(seen, ['a', 'a2', 'b', 'b-then', 'c', 'd']);
    assert.equal(loop.now, 10);
    assert.throws(() => loop.at(5, () => {}), RangeError);
  });

  it('gives the same draws for the same seed', () => {
    const draws = (seed) => Array.from({ length: 5 }, createRandom(seed).next);
    assert.deepEqual(draws(7), draws(7));
    assert.notDeepEqual(draws(7), draws(8));
  });
});

describe('rendezvous hashing', () => {
  const endpoints = Array.from({ length: 16 }, (_, index) => `10.0.${index >> 2}.1:${50051 + (index % 4)}`);

  it('moves only the sessions of an endpoint that leaves, to their next in rank', () => {
    const remaining = endpoints.filter((_, index) => index !== 5);
    for (let session = 0; session < 2000; session += 1) {
      const id = `session-${session}`;
      const ranked = rank(id, endpoints);
      assert.equal(ranked[0], owner(id, endpoints));
      const after = endpoints.indexOf(remaining[owner(id, remaining)]);
      assert.equal(after, ranked[0] === 5 ? ranked[1] : ranked[0]);
    }
  });

  it('spreads many sessions evenly and few unevenly', () => {
    const spread = (count) => spreadOf(Array.from({ length: count }, (_, i) => `session-${i}`), Array(count).fill(1 / count), endpoints);
    assert.ok(spread(100_000).maxOverMean < 1.05);
    assert.ok(spread(16).maxOverMean >= 2, 'with as many sessions as workers some get two or more');
    assert.ok(spread(16).emptyEndpoints > 0);
  });
});

describe('costs', () => {
  it('splits a tiny call so the sequential p50 is reproduced', () => {
    const c = costs.channel;
    assert.ok(Math.abs(c.nodeSendMs + c.nodeReceiveMs + c.pythonCpuMs - c.measured.p50Ms) < 1e-9 || c.nodeOffPathMs === 0);
    assert.ok(Math.abs(c.nodeSendMs + c.nodeReceiveMs + c.nodeOffPathMs - c.nodeCpuMs) < 1e-9);
  });

  it('fits jitter to the mean and the p99', () => {
    const fit = fitJitter({ p50Ms: 1, p99Ms: 4, meanMs: 1.2 });
    assert.ok(Math.abs(fit.share * fit.meanMs - 0.2) < 1e-9);
    assert.ok(Math.abs(fit.meanMs * Math.log(100 * fit.share) - 3) < 1e-6);
  });
});

describe('simulation', () => {
  it('is deterministic for a seed', () => {
    const a = run({ rate: 2500, seed: 3 }).result;
    const b = run({ rate: 2500, seed: 3 }).result;
    const c = run({ rate: 2500, seed: 4 }).result;
    for (const key of ['throughputPerSecond', 'p50Ms', 'p99Ms', 'refusalsPerCall', 'events']) assert.equal(a[key], b[key], key);
    assert.notEqual(a.p99Ms, c.p99Ms);
  });

  it('conserves calls: every call arrived is done, failed, queued or in flight', () => {
    for (const overrides of [
      { rate: 2000 },
      { rate: 6000, admissionQueue: 0 },
      { rate: 3000, sessions: { count: 4, affinity: 'strict-queue' }, queueTimeoutMs: 200, maxQueue: 50 },
      { rate: 2000, sessions: { count: 4, affinity: 'strict-fail-fast' } },
      { rate: 3000, routing: 'ideal' },
    ]) {
      const { counts } = run(overrides).result;
      assert.equal(counts.arrived, counts.completed + counts.failed + counts.inSystem, JSON.stringify(overrides));
      assert.equal(counts.inSystem, counts.inQueues + counts.inFlight, JSON.stringify(overrides));
      assert.ok(counts.running + counts.admissionWaiting <= counts.inFlight);
    }
  });

  it('never carries more than the capacity bound', () => {
    for (const overrides of [
      { rate: 10_000 },
      { rate: 10_000, hosts: 16 },
      { rate: 5000, mix: [{ name: 'tiny', share: 1 }], replicas: 1, hosts: 1, rttMs: 2 },
      { rate: 4000, nicGbps: 1, mix: [{ name: 'big', share: 1, requestBytes: 262_144 }] },
    ]) {
      const { result, bound } = run(overrides);
      assert.ok(result.throughputPerSecond <= bound.capacity * 1.03, `${JSON.stringify(overrides)}: ${result.throughputPerSecond} > ${bound.capacity}`);
    }
  });

  it('falls behind past the hashing bound under strict affinity, the hot worker at its own capacity', () => {
    const { result, bound, params } = run({ rate: 3000, sessions: { count: 16, affinity: 'strict-queue' } });
    assert.equal(bound.binding, 'hottest worker (hashing)');
    assert.ok(isBehind(result));
    const endpoints = params.hosts * params.workersPerHost;
    const hottest = (result.servedMaxOverMean * result.throughputPerSecond) / endpoints;
    // Its own calls are a sample of the mix: a few % more tiny ones than the mean in one simulated second.
    assert.ok(hottest <= (1000 / bound.perCall.seatMs) * 1.1, `hottest worker ${hottest}/s`);
    assert.equal(limitOf(result), 'hashing (hot worker)');
  });

  it('carries a light load completely, and p99 grows with load', () => {
    const p99s = [0.3, 0.5, 0.7].map((share) => {
      const base = capacityBounds(costs, resolveParams(costs, quick)).capacity;
      const { result } = run({ rate: share * base });
      assert.equal(result.failedShare, 0);
      assert.ok(Math.abs(result.throughputPerSecond / result.offeredPerSecond - 1) < 0.03);
      return result.p99Ms;
    });
    assert.ok(p99s[0] < p99s[1] && p99s[1] < p99s[2], p99s.join(' < '));
    const { result } = run({ rate: 1.3 * capacityBounds(costs, resolveParams(costs, quick)).capacity });
    assert.ok(result.p99Ms > 3 * p99s[2], 'past the bound the queue grows');
    assert.notEqual(limitOf(result), '—');
  });

  it('puts one hot session on one worker under strict affinity, and spreads it under hint', () => {
    const sessions = { count: 1, share: 1 };
    const strict = run({ rate: 150, sessions: { ...sessions, affinity: 'strict-queue' } }).result;
    assert.ok(strict.servedMaxOverMean > 0.999 * 16, `served max/mean ${strict.servedMaxOverMean}`);
    assert.equal(strict.affinityHit, 1);
    const overloaded = run({ rate: 400, sessions: { ...sessions, affinity: 'strict-queue' } });
    assert.ok(overloaded.result.throughputPerSecond <= overloaded.bound.bounds['hottest worker (hashing)'] * 1.03);
    assert.equal(limitOf(overloaded.result), 'hashing (hot worker)');
    const hint = run({ rate: 400, sessions: { ...sessions, affinity: 'hint' } }).result;
    assert.ok(hint.servedMaxOverMean < 8, `hint spreads: ${hint.servedMaxOverMean}`);
    assert.ok(hint.throughputPerSecond > 0.97 * hint.offeredPerSecond && !isBehind(hint));
  });

  it('refuses nothing when the admission queue covers every replica, or with one view for all', () => {
    assert.equal(run({ rate: 3400, replicas: 4, admissionQueue: 3 }).result.refusalsPerCall, 0);
    assert.equal(run({ rate: 3400, replicas: 8, routing: 'ideal' }).result.refusalsPerCall, 0);
    assert.ok(run({ rate: 3400, replicas: 8, admissionQueue: 0 }).result.refusalsPerCall > 0);
  });

  it('keeps up near the bound with an admission queue of N − 1, not without one', () => {
    const rate = 0.88 * capacityBounds(costs, resolveParams(costs, quick)).capacity;
    assert.ok(isBehind(run({ rate, admissionQueue: 0 }).result));
    assert.ok(!isBehind(run({ rate, admissionQueue: 3 }).result));
  });

  it("reproduces the bench's sequential tiny call it was fitted on", () => {
    const { result } = run({ replicas: 1, hosts: 1, workersPerHost: 1, rttMs: 0, lanes: 1, mix: [{ name: 'tiny', share: 1 }], sessions: { share: 0 } });
    const measured = costs.channel.measured;
    assert.ok(Math.abs(result.throughputPerSecond / measured.callsPerSecond - 1) < 0.05, `${result.throughputPerSecond} vs ${measured.callsPerSecond}`);
    assert.ok(Math.abs(result.p50Ms / measured.p50Ms - 1) < 0.05, `${result.p50Ms} vs ${measured.p50Ms}`);
  });

  it('adds the round trip to a call and lets it bind a replica with few seats', () => {
    const tiny = { mix: [{ name: 'tiny', share: 1 }], sessions: { share: 0 }, replicas: 1, hosts: 1, jitter: 'none' };
    const near = run({ ...tiny, rate: 300, rttMs: 0.2 }).result;
    const far = run({ ...tiny, rate: 300, rttMs: 2 }).result;
    assert.ok(Math.abs(far.p50Ms - near.p50Ms - 1.8) < 0.05, `${far.p50Ms} − ${near.p50Ms}`);
    const busy = run({ ...tiny, rate: 1600, rttMs: 2 });
    assert.equal(busy.bound.binding, 'seat round trips');
    assert.equal(limitOf(busy.result), 'seat round trips (RTT)');
  });
});
