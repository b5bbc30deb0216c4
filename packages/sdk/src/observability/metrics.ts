/**
 * Counters and latency histograms behind `pool.stats()`. The histogram keeps log-linear buckets
 * (32 per power of two, so a percentile is within ~3% of the truth) in a fixed array: memory stays
 * bounded however many calls a long-lived pool serves, and recording is a few arithmetic steps.
 */
import type { SnakepitErrorCode } from '../errors.js';

export interface HistogramSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

const subBucketBits = 5;
const subBucketCount = 1 << subBucketBits;
/** Values are kept in microseconds; 2^43 µs is about 100 days, beyond which values share the top bucket. */
const maxExponent = 43;
const bucketCount = subBucketCount + (maxExponent - subBucketBits + 1) * subBucketCount;
const largestValue = 2 ** (maxExponent + 1) - 1;

function exponentOf(value: number): number {
  if (value < 2 ** 32) return 31 - Math.clz32(value);
  let exponent = Math.floor(Math.log2(value));
  // log2 can be off by one near powers of two at this magnitude.
  while (2 ** exponent > value) exponent -= 1;
  while (2 ** (exponent + 1) <= value) exponent += 1;
  return exponent;
}

function bucketIndex(value: number): number {
  if (value < subBucketCount) return value;
  const exponent = exponentOf(value);
  const shift = exponent - subBucketBits;
  const mantissa = Math.floor(value / 2 ** shift) - subBucketCount;
  return subBucketCount + shift * subBucketCount + mantissa;
}

/** The middle of a bucket, which is what a percentile reports. */
function bucketMiddle(index: number): number {
  if (index < subBucketCount) return index;
  const shift = Math.floor((index - subBucketCount) / subBucketCount);
  const mantissa = (index - subBucketCount) % subBucketCount;
  const width = 2 ** shift;
  return (subBucketCount + mantissa) * width + (width - 1) / 2;
}

export class Histogram {
  private readonly buckets = new Float64Array(bucketCount);
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  /** Records one duration in milliseconds (negative and non-finite values are ignored). */
  record(milliseconds: number): void {
    if (!(milliseconds >= 0) || !Number.isFinite(milliseconds)) return;
    const microseconds = Math.min(largestValue, Math.round(milliseconds * 1000));
    this.buckets[bucketIndex(microseconds)]! += 1;
    this.count += 1;
    this.sum += milliseconds;
    if (milliseconds < this.min) this.min = milliseconds;
    if (milliseconds > this.max) this.max = milliseconds;
  }

  /** The value below which `quantile` (0..1) of the recorded values fall, in milliseconds. */
  percentile(quantile: number): number {
    if (this.count === 0) return 0;
    const target = Math.max(1, Math.ceil(quantile * this.count));
    let seen = 0;
    for (let index = 0; index < bucketCount; index += 1) {
      seen += this.buckets[index]!;
      if (seen >= target) {
        const value = bucketMiddle(index) / 1000;
        return Math.min(this.max, Math.max(this.min, value));
      }
    }
    return this.max;
  }

  summary(): HistogramSummary {
    if (this.count === 0) return { count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0 };
    return {
      count: this.count,
      min: this.min,
      max: this.max,
      mean: this.sum / this.count,
      p50: this.percentile(0.5),
      p90: this.percentile(0.9),
      p99: this.percentile(0.99),
    };
  }
}

export interface PoolCounters {
  /** Calls that returned a result (or whose stream ended normally or was stopped by its consumer). */
  completed: number;
  /** Calls that ended in an error of any kind; the counters below are subsets of it. */
  failed: number;
  /** Calls that failed with `timeout`. */
  timedOut: number;
  /** Calls that failed with `aborted`. */
  aborted: number;
  /** Calls refused with `pool_saturated`. */
  saturated: number;
  /** Calls that failed with `queue_timeout`. */
  queueTimeouts: number;
  /** Workers started to replace one that crashed, hung or failed to start. */
  restarts: number;
  /** Workers retired by `maxRequestsPerWorker` or `workerTtlMs`. */
  recycled: number;
  /** Times a worker shared with other pools refused a call for want of room (the call was put back, not failed). */
  refusals: number;
}

/** What the pool measures about its calls; shared by the call path and `stats()`. */
export class PoolMetrics {
  readonly counters: PoolCounters = {
    completed: 0,
    failed: 0,
    timedOut: 0,
    aborted: 0,
    saturated: 0,
    queueTimeouts: 0,
    restarts: 0,
    recycled: 0,
    refusals: 0,
  };
  readonly runTime = new Histogram();
  readonly waitTime = new Histogram();
  /** Calls running on a worker, as their callers see them. */
  inFlight = 0;

  recordFailure(code: SnakepitErrorCode): void {
    const counters = this.counters;
    counters.failed += 1;
    switch (code) {
      case 'timeout':
        counters.timedOut += 1;
        break;
      case 'aborted':
        counters.aborted += 1;
        break;
      case 'pool_saturated':
        counters.saturated += 1;
        break;
      case 'queue_timeout':
        counters.queueTimeouts += 1;
        break;
      default:
        break;
    }
  }
}
