/**
 * Figures collected over rounds: one row per scenario × variant × peer, holding each metric's
 * value in every round (by round index, so two rows' values pair up round by round).
 */
import { peerLabel } from '../peers/index.mjs';
import { spread } from './stats.mjs';

export function createResults() {
  const rows = new Map();
  const keyOf = (scenario, variant, peer) => JSON.stringify([scenario, variant, peer]);

  return {
    /** Stores what one measurement (one scenario, one peer, one round) returned. */
    record(scenario, peer, round, measuredRows) {
      for (const { variant, metrics, samples } of measuredRows) {
        const key = keyOf(scenario.id, variant, peerLabel(peer));
        if (!rows.has(key)) {
          rows.set(key, { scenario: scenario.id, variant, peer: peerLabel(peer), peerSpec: peer, rounds: [], samples: [] });
        }
        const row = rows.get(key);
        row.rounds[round] = metrics;
        if (samples) row.samples[round] = samples;
      }
    },

    /** A row's values of one metric, by round (undefined where that round failed). */
    values(scenario, variant, peer, metric) {
      return rows.get(keyOf(scenario, variant, peer))?.rounds.map((metrics) => metrics?.[metric]) ?? [];
    },

    /** Rows in the order of `scenarios`, their variants as first measured, and each scenario's peers. */
    ordered(scenarios) {
      const all = [...rows.values()];
      return scenarios.flatMap((scenario) => {
        const own = all.filter((row) => row.scenario === scenario.id);
        const variants = [...new Set(own.map((row) => row.variant))];
        const peerOrder = scenario.peers.map(peerLabel);
        return own.sort(
          (a, b) => variants.indexOf(a.variant) - variants.indexOf(b.variant) || peerOrder.indexOf(a.peer) - peerOrder.indexOf(b.peer),
        );
      });
    },

    /** Everything, summarised for the JSON file: median, min, max and the per-round values. */
    toJSON(scenarios) {
      return this.ordered(scenarios).map((row) => {
        const metricNames = [...new Set(row.rounds.flatMap((metrics) => Object.keys(metrics ?? {})))];
        const metrics = Object.fromEntries(
          metricNames.map((name) => {
            const values = row.rounds.map((round) => round?.[name] ?? null);
            return [name, { ...spread(values.filter((value) => value !== null)), rounds: values }];
          }),
        );
        return { scenario: row.scenario, variant: row.variant, peer: row.peer, peerSpec: row.peerSpec, metrics, samples: row.samples };
      });
    },
  };
}

/** Per-round quotients of two value lists (paired by round), skipping rounds missing either. */
export function pairedRatios(values, references, combine = (value, reference) => value / reference) {
  const ratios = [];
  values.forEach((value, round) => {
    const reference = references[round];
    if (Number.isFinite(value) && Number.isFinite(reference) && reference !== 0) ratios.push(combine(value, reference));
  });
  return ratios;
}
