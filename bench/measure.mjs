// Runs one scenario against one peer in this fresh Node process (run.mjs starts one per
// measurement, so no peer inherits a heap or a JIT state shaped by another) and prints the rows
// as JSON on the last line of stdout. Exits non-zero on any failure, wrong answers included.
//   node measure.mjs '{"scenario": "tiny-sequential", "peer": {"kind": "python-shell"}, "settings": {...}}'
import { scenarioById } from './scenarios/index.mjs';

try {
  const { scenario, peer, settings } = JSON.parse(process.argv[2]);
  const rows = await scenarioById(scenario).measure(peer, settings);
  process.stdout.write(`${JSON.stringify(rows)}\n`);
  process.exit(0);
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exit(1);
}
