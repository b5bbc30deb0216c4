/**
 * The issue's goals, checked against one run: each is a quotient of two rows' figures (paired
 * round by round, then the median taken) or one row's figure, against a bound. "Context" lines
 * set the pool beside the floors, with no bound.
 */
import { formatNumber, metrics } from './metrics.mjs';
import { pairedRatios } from './results.mjs';
import { spread } from './stats.mjs';

const pool = (size) => `snakepit pool(${size})`;
const pythonShell = 'python-shell';

/** figure(scenario, variant, peer, metric): one row's metric. */
const figure = (scenario, variant, peer, metric) => ({ scenario, variant, peer, metric });

const goals = [
  {
    text: "tiny sequential calls: p50 ≤ 2× python-shell's p50",
    value: figure('tiny-sequential', '1 in flight', pool(1), 'p50Ms'),
    reference: figure('tiny-sequential', '1 in flight', pythonShell, 'p50Ms'),
    atMost: 2,
  },
  {
    text: "tiny sequential calls: calls/s ≥ 0.5× python-shell's",
    value: figure('tiny-sequential', '1 in flight', pool(1), 'callsPerSecond'),
    reference: figure('tiny-sequential', '1 in flight', pythonShell, 'callsPerSecond'),
    atLeast: 0.5,
  },
  {
    text: "pool(2), tiny calls, 16 in flight: calls/s ≥ 1× python-shell's sequential calls/s",
    value: figure('tiny-in-flight', '16 in flight', pool(2), 'callsPerSecond'),
    reference: figure('tiny-sequential', '1 in flight', pythonShell, 'callsPerSecond'),
    atLeast: 1,
  },
  {
    text: '~2.5 ms pure-Python calls: pool(2) ≥ 1.7× one python-shell process',
    value: figure('python-work', '8 in flight', pool(2), 'callsPerSecond'),
    reference: figure('python-work', '8 in flight', pythonShell, 'callsPerSecond'),
    atLeast: 1.7,
  },
  {
    text: "20,000-chunk stream: chunks/s ≥ 0.5× python-shell's",
    value: figure('stream-throughput', '20000 chunks', pool(1), 'chunksPerSecond'),
    reference: figure('stream-throughput', '20000 chunks', pythonShell, 'chunksPerSecond'),
    atLeast: 0.5,
  },
  {
    text: 'a chunk every 150 ms reaches the caller within a few ms of its yield: max ≤ 5 ms',
    value: figure('stream-latency', '16 chunks', pool(1), 'deliveryMaxMs'),
    atMost: 5,
    unit: ' ms',
  },
  {
    text: '16 MiB binary round trip: ≥ 3× python-shell (MiB/s)',
    value: figure('binary-round-trip', '16 MiB', pool(1), 'mebibytesPerSecond'),
    reference: figure('binary-round-trip', '16 MiB', pythonShell, 'mebibytesPerSecond'),
    atLeast: 3,
  },
];

/** The pool beside the floors (and the floors beside each other): no bound, for the reader. */
const floorComparisons = [
  { scenario: 'tiny-sequential', variant: '1 in flight', metric: 'p50Ms', peer: pool(1) },
  { scenario: 'tiny-in-flight', variant: '16 in flight', metric: 'callsPerSecond', peer: pool(1) },
  { scenario: 'stream-throughput', variant: '20000 chunks', metric: 'chunksPerSecond', peer: pool(1) },
  { scenario: 'binary-round-trip', variant: '16 MiB', metric: 'roundTripMs', peer: pool(1) },
];
const floorPeers = ['floor: node:http2', 'floor: node:http2 bidi', 'floor: connect-node'];

/**
 * Goal variants follow the settings (a quick or smoke run has fewer chunks), so each goal is
 * matched to the variant the run actually measured for that scenario and peer.
 */
function resolveVariant(results, scenarios, wanted) {
  const rows = results.ordered(scenarios).filter((row) => row.scenario === wanted.scenario && row.peer === wanted.peer);
  if (rows.some((row) => row.variant === wanted.variant)) return wanted;
  return rows.length === 1 ? { ...wanted, variant: rows[0].variant } : wanted;
}

function valuesOf(results, scenarios, wanted) {
  const resolved = resolveVariant(results, scenarios, wanted);
  return results.values(resolved.scenario, resolved.variant, resolved.peer, resolved.metric);
}

export function evaluateGoals(scenarios, results) {
  return goals.map((goal) => {
    const values = valuesOf(results, scenarios, goal.value);
    const observed = goal.reference
      ? pairedRatios(values, valuesOf(results, scenarios, goal.reference))
      : values.filter(Number.isFinite);
    const { median, min, max } = spread(observed);
    const atLeast = goal.atLeast !== undefined;
    const bound = atLeast ? goal.atLeast : goal.atMost;
    const met = atLeast ? median >= bound : median <= bound;
    // How far from the bound, as a share of the bound: "short by 20 %" or "over by 35 %".
    const gap = Math.abs(median - bound) / bound;
    return {
      text: goal.text,
      median,
      min,
      max,
      atLeast,
      bound: `${atLeast ? '≥' : '≤'} ${bound}${goal.unit ?? '×'}`,
      unit: goal.unit ?? '×',
      met: Number.isFinite(median) ? met : undefined,
      gapPercent: Number.isFinite(median) ? Math.round(gap * 100) : undefined,
    };
  });
}

export function renderGoals(evaluated) {
  const lines = ['goals (median of per-round figures; min–max over rounds):'];
  for (const goal of evaluated) {
    const verdict = goal.met === undefined ? 'NO DATA' : goal.met ? 'met   ' : 'MISSED';
    const observed = `${formatNumber(goal.median)}${goal.unit} (${formatNumber(goal.min)}–${formatNumber(goal.max)})`;
    const gap = goal.met === false ? `, ${goal.atLeast ? 'short' : 'over'} by ${goal.gapPercent} %` : '';
    lines.push(`  ${verdict}  ${goal.text}: ${observed}, needs ${goal.bound}${gap}`);
  }
  return lines.join('\n');
}

export function renderFloorComparisons(scenarios, results) {
  const lines = ['the pool beside the floors (medians; factor = pool ÷ floor):'];
  for (const comparison of floorComparisons) {
    const median = (peer) => spread(valuesOf(results, scenarios, { ...comparison, peer })).median;
    const poolValue = median(comparison.peer);
    const parts = floorPeers
      .map((peer) => [peer, median(peer)])
      .filter(([, value]) => Number.isFinite(value))
      .map(([peer, value]) => `${peer.replace('floor: ', '')} ${formatNumber(value)} (${formatNumber(poolValue / value)}×)`);
    if (parts.length === 0) continue;
    const label = `${comparison.scenario} ${metrics[comparison.metric].label}`;
    lines.push(`  ${label}: ${comparison.peer} ${formatNumber(poolValue)}; ${parts.join(', ')}`);
  }
  return lines.length > 1 ? lines.join('\n') : '';
}
