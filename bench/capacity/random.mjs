/**
 * Seeded randomness: the whole simulation draws from one generator, so a seed gives the same run,
 * event for event, on any machine. sfc32 (a small, fast counting generator) seeded through
 * splitmix32, then the few distributions the model needs.
 */

function splitmix32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function createRandom(seed) {
  const mix = splitmix32(seed);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  /** Uniform in [0, 1). */
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i += 1) next();

  return {
    next,
    /** Exponentially distributed with this mean (the gaps of a Poisson process). */
    exponential(mean) {
      return -mean * Math.log(1 - next());
    },
    /** An integer in [0, n). */
    below(n) {
      return Math.floor(next() * n);
    },
    /** Index into `cumulative` (ascending, last = 1) that a uniform draw falls in. */
    fromCumulative(cumulative) {
      const u = next();
      let low = 0;
      let high = cumulative.length - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (cumulative[middle] > u) high = middle;
        else low = middle + 1;
      }
      return low;
    },
    /** A shuffled copy (Fisher–Yates). */
    shuffled(items) {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i -= 1) {
        const j = Math.floor(next() * (i + 1));
        [copy[i], copy[j]] = [copy[j], copy[i]];
      }
      return copy;
    },
  };
}

/** Normalised cumulative sums of `weights`, for `fromCumulative`. */
export function cumulativeOf(weights) {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const cumulative = new Float64Array(weights.length);
  let running = 0;
  weights.forEach((weight, index) => {
    running += weight / total;
    cumulative[index] = running;
  });
  cumulative[weights.length - 1] = 1;
  return cumulative;
}
