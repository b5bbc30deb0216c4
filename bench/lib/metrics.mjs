/**
 * What each figure is called in the table, and which way is better: the "× python-shell" column
 * is always "how many times better than python-shell", so above 1 is better whatever the unit.
 */
export const metrics = {
  callsPerSecond: { label: 'calls/s', higherIsBetter: true },
  p50Ms: { label: 'p50 ms', higherIsBetter: false },
  p99Ms: { label: 'p99 ms', higherIsBetter: false },
  maxMs: { label: 'max ms', higherIsBetter: false },
  nodeCpuMsPerCall: { label: 'Node CPU ms/call', higherIsBetter: false },
  pythonCpuMsPerCall: { label: 'Python CPU ms/call', higherIsBetter: false },
  pythonCores: { label: 'Python cores', higherIsBetter: true },
  refusalsPerCall: { label: 'refused & put back per call', higherIsBetter: false },
  chunksPerSecond: { label: 'chunks/s', higherIsBetter: true },
  nodeCpuMicrosecondsPerChunk: { label: 'Node CPU µs/chunk', higherIsBetter: false },
  pythonCpuMicrosecondsPerChunk: { label: 'Python CPU µs/chunk', higherIsBetter: false },
  deliveryP50Ms: { label: 'yield→arrival p50 ms', higherIsBetter: false },
  deliveryMaxMs: { label: 'yield→arrival max ms', higherIsBetter: false },
  nodeRssGrowthMiB: { label: 'Node RSS growth MiB', higherIsBetter: false },
  pythonRssGrowthMiB: { label: 'Python RSS growth MiB', higherIsBetter: false },
  chunkWaitMaxMs: { label: 'longest chunk wait ms', higherIsBetter: false },
  consumeSeconds: { label: 'stream s', higherIsBetter: false },
  roundTripMs: { label: 'round trip ms', higherIsBetter: false },
  mebibytesPerSecond: { label: 'MiB/s each way', higherIsBetter: true },
  nodeCpuMsPerRoundTrip: { label: 'Node CPU ms/round trip', higherIsBetter: false },
  pythonCpuMsPerRoundTrip: { label: 'Python CPU ms/round trip', higherIsBetter: false },
  readyMs: { label: 'ready ms', higherIsBetter: false },
  workersRssMiB: { label: 'Python RSS MiB', higherIsBetter: false },
  workersAnonymousMiB: { label: 'Python anonymous MiB', higherIsBetter: false },
};

/** Three significant digits or so, without exponent notation. */
export function formatNumber(value) {
  if (!Number.isFinite(value)) return 'n/a';
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toString();
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** How many times better `value` is than `reference` for this metric. */
export function timesBetter(metric, value, reference) {
  return metrics[metric].higherIsBetter ? value / reference : reference / value;
}
