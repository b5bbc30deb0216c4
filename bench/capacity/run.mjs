// The capacity model past one machine: a deterministic discrete-event simulation of N Node
// replicas and M worker hosts, driven by the per-call costs `npm run bench` measured
// (bench/results/latest.json). It is a model, not a measurement: see BENCHMARKS.md,
// "Capacity past one machine (simulation)", for what it assumes and where it stops being right.
//   node capacity/run.mjs                    every table (about half a minute)
//   node capacity/run.mjs --quick            shorter simulated windows
//   --only load,hashing                      some tables (ids in scenarios.mjs)
//   --costs loaded                           CPU per call from the pool under load instead of one call alone
//   --results FILE                           another results file of `npm run bench`
//   --seed N                                 another seed (same seed, same figures)
//   --json                                   the rows as JSON instead of tables
import { capacityBounds } from './bounds.mjs';
import { defaultResultsFile, loadCosts } from './costs.mjs';
import { resolveParams } from './params.mjs';
import { renderCosts, renderTable } from './report.mjs';
import { scenarios as allScenarios } from './scenarios.mjs';
import { simulate } from './simulation.mjs';

function parseArguments(argv) {
  const valueOf = (name) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const only = valueOf('--only')?.split(',');
  const scenarios = only ? allScenarios.filter((scenario) => only.includes(scenario.id)) : allScenarios;
  if (only && scenarios.length !== only.length) {
    throw new TypeError(`--only: unknown table among ${only.join(', ')}; there are: ${allScenarios.map((s) => s.id).join(', ')}`);
  }
  const seed = valueOf('--seed') === undefined ? 1 : Number(valueOf('--seed'));
  if (!Number.isInteger(seed)) throw new TypeError('--seed needs an integer');
  return {
    scenarios,
    seed,
    quick: argv.includes('--quick'),
    json: argv.includes('--json'),
    profile: valueOf('--costs') ?? 'sequential',
    file: valueOf('--results') ?? defaultResultsFile,
  };
}

/** Every row of one table, simulated. */
export function runScenario(costs, scenario, { seed = 1, quick = false } = {}) {
  const window = quick ? { warmupMs: 300, measureMs: 1000 } : {};
  const capacityOf = (overrides = {}) => capacityBounds(costs, resolveParams(costs, { ...overrides, sessions: { ...overrides.sessions, affinity: 'hint' } })).capacity;
  const rows = scenario.rows({ baseCapacity: capacityOf(), capacityOf });
  return rows.map((row) => {
    const params = resolveParams(costs, { seed, ...window, ...row.params });
    return { labels: row.labels, params, costs, bound: capacityBounds(costs, params), result: simulate(costs, params) };
  });
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const costs = loadCosts({ file: options.file, profile: options.profile });
  const startedAt = performance.now();
  const output = [];
  if (!options.json) {
    console.log('snakepit capacity model (a simulation, not a measurement)');
    console.log(renderCosts(costs));
    console.log(`seed ${options.seed}${options.quick ? ', quick windows' : ''}; columns: BENCHMARKS.md, "Capacity past one machine (simulation)"\n`);
  }
  for (const scenario of options.scenarios) {
    const rows = runScenario(costs, scenario, options);
    // Without the wall time each run took, the JSON is as deterministic as the tables.
    const rowsOut = rows.map(({ labels, params, bound, result: { wallMs, ...result } }) => ({ labels, params, bound, result }));
    if (options.json) output.push({ id: scenario.id, title: scenario.title, rows: rowsOut });
    else console.log(`${renderTable({ ...scenario, rows })}\n`);
  }
  if (options.json) console.log(JSON.stringify(output, null, 2));
  else console.error(`simulated in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    console.error(error instanceof TypeError ? `capacity: ${error.message}` : error);
    process.exitCode = 1;
  });
}
