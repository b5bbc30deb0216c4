/**
 * Reading a run: which limit it is at (from the utilisations the simulation measured, not from
 * the bounds), and the plain-text tables `run.mjs` prints.
 */
import path from 'node:path';
import { formatNumber } from '../lib/metrics.mjs';

/** A resource is at its limit from this utilisation on. */
export const saturated = 0.9;

/** Whether the run falls behind its load: calls pile up (or fail) over the measured window. */
export function isBehind(result) {
  const growth = result.backlogGrowth;
  return result.failedShare > 0.005 || (growth > 20 && growth > 0.03 * result.arrivedInWindow);
}

/**
 * The limit a run is at, or '—' when it carries its load with room to spare, from the
 * utilisations the simulation measured: the busiest of the Node event loops, the Python workers
 * and the NICs when one is saturated (a worker at 80% or more while the mean is under 70% of it is
 * the hashing limit); else the seat round trips (every replica's seats busy for a whole round trip while
 * the workers are not); else, when calls still pile up or fail, the queue itself: refusals,
 * backoff and collisions waste the capacity there is.
 */
export function limitOf(result, params) {
  const u = result.utilisation;
  // A closed loop with no more callers than seats is held back by its callers, not by the fleet.
  if (params?.lanes !== undefined && params.lanes <= params.hosts * params.workersPerHost * params.threadsPerWorker) return 'callers (closed loop)';
  // One worker far busier than the mean: the sessions hashed to it (strict affinity cannot spill).
  if (u.workerSeats.max >= 0.8 && u.workerSeats.mean < 0.7 * u.workerSeats.max) return 'hashing (hot worker)';
  const workers = Math.max(u.workerSeats.mean, u.cores.mean, u.gil.mean);
  const candidates = [
    ['Node event loop', u.nodeLoop.max],
    [u.refusals > 0.05 ? 'Python workers (refusals)' : 'Python workers', workers],
    ['network bandwidth', u.nic.max],
  ].sort((a, b) => b[1] - a[1]);
  if (candidates[0][1] >= saturated) return candidates[0][0];
  if (u.replicaSeats.max >= saturated) return 'seat round trips (RTT)';
  if (isBehind(result)) return 'queue (refusals, backoff)';
  return '—';
}

const percent = (value) => (Number.isFinite(value) ? `${Math.round(value * 100)}%` : 'n/a');
const number = (value) => formatNumber(value);

/** Columns every table has, after its own. */
export const resultColumns = [
  { header: 'offered/s', cell: (row) => number(row.result.offeredPerSecond) },
  { header: 'done/s', cell: (row) => `${number(row.result.throughputPerSecond)}${isBehind(row.result) ? '!' : ''}` },
  { header: 'failed', cell: (row) => percent(row.result.failedShare) },
  { header: 'p50 ms', cell: (row) => number(row.result.p50Ms) },
  { header: 'p99 ms', cell: (row) => number(row.result.p99Ms) },
  { header: 'p99 wait', cell: (row) => number(row.result.p99WaitMs) },
  { header: 'refused/call', cell: (row) => number(row.result.refusalsPerCall) },
  { header: 'Node loop', cell: (row) => percent(row.result.utilisation.nodeLoop.max) },
  { header: 'workers mean/max', cell: (row) => `${percent(row.result.utilisation.workerSeats.mean)}/${percent(row.result.utilisation.workerSeats.max)}` },
  { header: 'seats', cell: (row) => percent(row.result.utilisation.replicaSeats.max) },
  { header: 'bound/s (by)', cell: (row) => `${number(row.bound.capacity)} (${row.bound.binding})` },
  { header: 'limit', cell: (row) => limitOf(row.result, row.params) },
];

export const extraColumns = {
  affinity: { header: 'on own worker', cell: (row) => percent(row.result.affinityHit) },
  hashSpread: { header: 'hot/mean (hash)', cell: (row) => number(row.bound.spread?.maxOverMean) },
  servedSpread: { header: 'hot/mean (served)', cell: (row) => number(row.result.servedMaxOverMean) },
  nic: { header: 'NIC', cell: (row) => percent(row.result.utilisation.nic.max) },
  gil: { header: 'GIL', cell: (row) => percent(row.result.utilisation.gil.max) },
  refusalShare: { header: 'workers on refusals', cell: (row) => percent(row.result.utilisation.refusals) },
};

/** A table: a title, the scenario's own columns (from each row's `labels`), then the result columns. */
export function renderTable({ title, note, labels, extras = [], rows }) {
  const columns = [
    ...labels.map((label) => ({ header: label, cell: (row) => String(row.labels[label]) })),
    ...extras.map((name) => extraColumns[name]),
    ...resultColumns,
  ];
  const cells = rows.map((row) => columns.map((column) => column.cell(row)));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((line) => line[index].length)));
  const format = (line) =>
    line
      .map((text, index) => (index < labels.length ? text.padEnd(widths[index]) : text.padStart(widths[index])))
      .join('  ')
      .trimEnd();
  const lines = [title];
  if (note) lines.push(...note.split('\n').map((line) => `  ${line}`));
  lines.push(format(columns.map((column) => column.header)));
  lines.push('-'.repeat(widths.reduce((sum, width) => sum + width, 0) + 2 * (widths.length - 1)));
  for (const line of cells) lines.push(format(line));
  return lines.join('\n');
}

/** The header: what the costs came from, and the per-call figures derived from them. */
export function renderCosts(costs) {
  const c = costs.channel;
  const u = costs.unary;
  const ms = (value) => `${formatNumber(value)} ms`;
  return [
    `per-call costs from ${path.relative(process.cwd(), costs.source.file) || costs.source.file} (${costs.source.mode} run of ${costs.source.startedAt}, commit ${costs.source.gitCommit}; ${costs.source.machine}), profile "${costs.profile}":`,
    `  call channel: Node CPU ${ms(c.nodeCpuMs)} (send ${ms(c.nodeSendMs)} + receive ${ms(c.nodeReceiveMs)} on the path, ${ms(c.nodeOffPathMs)} after), Python CPU ${ms(c.pythonCpuMs)}; jitter: ${formatNumber(c.jitter.share * 100)}% of calls hold their worker + Exp(${ms(c.jitter.meanMs)})`,
    `  unary:        Node CPU ${ms(u.nodeCpuMs)} (send ${ms(u.nodeSendMs)} + receive ${ms(u.nodeReceiveMs)} on the path, ${ms(u.nodeOffPathMs)} after), Python CPU ${ms(u.pythonCpuMs)}; jitter: ${formatNumber(u.jitter.share * 100)}% + Exp(${ms(u.jitter.meanMs)})`,
    `  pure-Python work: ×${formatNumber(costs.work.cpuFactor)} Python CPU per ms of work, +${ms(costs.work.nodeExtraMs)} Node CPU per work call; stream chunk: Node ${formatNumber(costs.stream.nodeMsPerChunk * 1000)} µs, Python ${formatNumber(costs.stream.pythonMsPerChunk * 1000)} µs; payload per MiB each way: Node ${ms(costs.bytes.nodeMsPerMiB)}, Python ${ms(costs.bytes.pythonMsPerMiB)}; a busy refusal: Python ${ms(costs.refusalPythonMs)} (the bidi floor's call)`,
  ].join('\n');
}
