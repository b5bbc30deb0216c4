import { describe, expect, it } from 'vitest';
import { Histogram, PoolMetrics } from '../../src/observability/metrics.js';

describe('Histogram', () => {
  it('summarises an empty histogram as zeros', () => {
    expect(new Histogram().summary()).toEqual({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0 });
  });

  it('reports exact count, min, max, mean and percentiles within a few percent', () => {
    const histogram = new Histogram();
    for (let value = 1; value <= 10_000; value += 1) histogram.record(value / 10);
    const summary = histogram.summary();
    expect(summary.count).toBe(10_000);
    expect(summary.min).toBe(0.1);
    expect(summary.max).toBe(1_000);
    expect(summary.mean).toBeCloseTo(500.05, 6);
    expect(Math.abs(summary.p50 - 500) / 500).toBeLessThan(0.04);
    expect(Math.abs(summary.p90 - 900) / 900).toBeLessThan(0.04);
    expect(Math.abs(summary.p99 - 990) / 990).toBeLessThan(0.04);
  });

  it('handles sub-millisecond, huge and invalid values with bounded memory', () => {
    const histogram = new Histogram();
    histogram.record(0);
    histogram.record(0.004);
    histogram.record(1e13);
    histogram.record(-1);
    histogram.record(Number.NaN);
    histogram.record(Infinity);
    const summary = histogram.summary();
    expect(summary.count).toBe(3);
    expect(summary.min).toBe(0);
    expect(summary.max).toBe(1e13);
    expect(summary.p50).toBeCloseTo(0.004, 6);
    expect(summary.p99).toBeLessThanOrEqual(1e13);
  });

  it('keeps a single repeated value exact', () => {
    const histogram = new Histogram();
    for (let index = 0; index < 100; index += 1) histogram.record(42);
    expect(histogram.summary()).toEqual({ count: 100, min: 42, max: 42, mean: 42, p50: 42, p90: 42, p99: 42 });
  });
});

describe('PoolMetrics', () => {
  it('counts every failure once and the specific codes in their own counters', () => {
    const telemetry = new PoolMetrics();
    for (const code of ['timeout', 'aborted', 'pool_saturated', 'queue_timeout', 'python_error'] as const) telemetry.recordFailure(code);
    expect(telemetry.counters).toMatchObject({ failed: 5, timedOut: 1, aborted: 1, saturated: 1, queueTimeouts: 1 });
  });
});
