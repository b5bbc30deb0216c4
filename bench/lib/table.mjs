/**
 * The one table: a line per scenario × variant × peer × headline figure, with its median over the
 * rounds, the range, how many times better than python-shell it is (median of per-round
 * ratios), and the row's other figures (medians) at the end.
 */
import { peerLabel } from '../peers/index.mjs';
import { formatNumber, metrics, timesBetter } from './metrics.mjs';
import { pairedRatios } from './results.mjs';
import { spread } from './stats.mjs';

const referencePeer = peerLabel({ kind: 'python-shell' });

export function renderTable(scenarios, results) {
  const lines = [];
  const previous = {};
  for (const row of results.ordered(scenarios)) {
    const scenario = scenarios.find((candidate) => candidate.id === row.scenario);
    const valuesOf = (peer, metric) => results.values(row.scenario, row.variant, peer, metric);
    scenario.headline.forEach((metric, index) => {
      const values = valuesOf(row.peer, metric);
      const { median, min, max } = spread(values);
      const better = (value, reference) => timesBetter(metric, value, reference);
      const ratios = row.peer === referencePeer ? [] : pairedRatios(values, valuesOf(referencePeer, metric), better);
      // The row's other figures go on its first line only.
      const detail = (name) => `${metrics[name].label} ${formatNumber(spread(valuesOf(row.peer, name)).median)}`;
      const details = index > 0 ? '' : scenario.details.map(detail).join(' · ');
      const cells = {
        scenario: scenario.title,
        variant: row.variant,
        peer: row.peer,
        figure: metrics[metric].label,
        median: formatNumber(median),
        range: values.length > 1 ? `${formatNumber(min)}–${formatNumber(max)}` : '',
        ratio: ratios.length > 0 ? `${formatNumber(spread(ratios).median)}×` : '',
        details,
      };
      // Repeat a scenario, variant or peer only when it changes: the table reads as groups.
      for (const column of ['scenario', 'variant', 'peer']) {
        if (cells[column] === previous[column]) cells[column] = '';
        else {
          previous[column] = cells[column];
          if (column === 'scenario') previous.variant = previous.peer = undefined;
          if (column === 'variant') previous.peer = undefined;
        }
      }
      lines.push(cells);
    });
  }
  return formatColumns(lines);
}

const columns = [
  ['scenario', 'scenario'],
  ['variant', 'variant'],
  ['peer', 'peer'],
  ['figure', 'figure'],
  ['median', 'median'],
  ['range', 'min–max'],
  ['ratio', '× python-shell'],
  ['details', 'other figures (medians)'],
];
const rightAligned = new Set(['median', 'range', 'ratio']);

function formatColumns(lines) {
  const widths = columns.map(([key, title]) => Math.max(title.length, ...lines.map((line) => line[key].length)));
  const render = (cellOf) =>
    columns
      .map(([key], index) => (rightAligned.has(key) ? cellOf(key, index).padStart(widths[index]) : cellOf(key, index).padEnd(widths[index])))
      .join('  ')
      .trimEnd();
  const header = render((key, index) => columns[index][1]);
  const rule = '-'.repeat(header.length);
  return [header, rule, ...lines.map((line) => render((key) => line[key]))].join('\n');
}
