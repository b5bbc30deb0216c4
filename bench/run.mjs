// Runs every scenario against every peer in alternating rounds, prints one table and the goals,
// and writes the figures as JSON under bench/results/. See BENCHMARKS.md at the repository root.
//   node run.mjs            full run: 3 rounds (a few minutes)
//   node run.mjs --quick    2 rounds, shorter measurements
//   node run.mjs --smoke    1 round, tiny sizes: checks every path works, writes nothing, asserts no timing
//   --rounds N              override the number of rounds
//   --only id,id            only these scenarios (see scenarios/index.mjs)
// Every measurement runs in its own Node process (measure.mjs) with its own Python processes;
// within a round the peers take turns in an order that reverses every round, so load from the
// rest of the machine falls on all of them alike.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { evaluateGoals, renderFloorComparisons, renderGoals } from './lib/goals.mjs';
import { describeMachine, loadAverages, startBackgroundMeter } from './lib/machine.mjs';
import { formatNumber } from './lib/metrics.mjs';
import { benchDirectory } from './lib/python.mjs';
import { createResults } from './lib/results.mjs';
import { renderTable } from './lib/table.mjs';
import { peerLabel } from './peers/index.mjs';
import { scenarios as allScenarios } from './scenarios/index.mjs';

// A smoke run measures nothing worth keeping, so it runs several measurements at once to stay short.
const modes = {
  full: { rounds: 3, concurrency: 1, measurementTimeoutMs: 180_000 },
  quick: { rounds: 2, concurrency: 1, measurementTimeoutMs: 120_000 },
  smoke: { rounds: 1, concurrency: 6, measurementTimeoutMs: 60_000 },
};

function parseArguments(argv) {
  const mode = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
  const valueOf = (name) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const rounds = valueOf('--rounds') === undefined ? modes[mode].rounds : Number(valueOf('--rounds'));
  if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError('--rounds needs a positive integer');
  const only = valueOf('--only')?.split(',');
  const scenarios = only ? allScenarios.filter((scenario) => only.includes(scenario.id)) : allScenarios;
  if (only && scenarios.length !== only.length) {
    const known = allScenarios.map((scenario) => scenario.id).join(', ');
    throw new TypeError(`--only: unknown scenario among ${only.join(', ')}; there are: ${known}`);
  }
  return { mode, rounds, scenarios, complete: !only };
}

/** One measurement in a fresh Node process; resolves with its rows, rejects with what went wrong. */
function measure(scenario, peer, settings, timeoutMs) {
  return new Promise((resolve, reject) => {
    const request = JSON.stringify({ scenario: scenario.id, peer, settings });
    const child = spawn(process.execPath, [path.join(benchDirectory, 'measure.mjs'), request], {
      cwd: benchDirectory,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(JSON.parse(stdout.trim().split('\n').at(-1)));
      const reason = signal === 'SIGKILL' ? `timed out after ${timeoutMs / 1000} s` : `exited with ${code ?? signal}`;
      reject(new Error(`${reason}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

/** Runs the jobs in order, at most `concurrency` at a time. */
async function runJobs(jobs, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Every round: each scenario's peers in turn, in reverse order every other round. */
async function runRounds({ mode, rounds, scenarios, settings }) {
  const results = createResults();
  const failures = [];
  for (let round = 0; round < rounds; round++) {
    const jobs = scenarios.flatMap((scenario) =>
      (round % 2 === 0 ? scenario.peers : [...scenario.peers].reverse()).map((peer) => async () => {
        const label = `round ${round + 1}/${rounds}  ${scenario.id}  ${peerLabel(peer)}`;
        const measuredAt = performance.now();
        try {
          const rows = await measure(scenario, peer, settings.get(scenario), modes[mode].measurementTimeoutMs);
          results.record(scenario, peer, round, rows);
          console.error(`${label}  ${((performance.now() - measuredAt) / 1000).toFixed(1)} s`);
        } catch (error) {
          failures.push({ round, scenario: scenario.id, peer: peerLabel(peer), error: error.message });
          console.error(`${label}  FAILED: ${error.message}`);
        }
      }),
    );
    await runJobs(jobs, modes[mode].concurrency);
  }
  return { results, failures };
}

function renderHeader({ mode, rounds, seconds, machine, background, calibration }) {
  const lines = [
    `snakepit bench, ${mode} run: ${rounds} round${rounds === 1 ? '' : 's'}, ${formatNumber(seconds)} s`,
    `${machine.cpuModel}, ${machine.logicalCpus} vCPU (${machine.virtualization}), ${machine.memoryGiB} GiB, ${machine.kernel}`,
    `Node ${machine.node}, Python ${machine.python} (grpcio ${machine.grpcio}, protobuf ${machine.protobuf}), ` +
      `python-shell ${machine.packages['python-shell']}, connect-node ${machine.packages['@connectrpc/connect-node']}`,
    `load average at start ${background.loadAverageAtStart.map(formatNumber).join(' ')}; ` +
      `other processes used ${formatNumber(Math.max(0, background.otherProcessesCores))} cores on average during the run`,
  ];
  if (calibration) lines.push(`pure-Python work: ${calibration.iterations} loop steps, ${formatNumber(calibration.aloneMs)} ms alone`);
  if (mode === 'smoke') lines.push('smoke run: tiny sizes, one round; the figures mean nothing');
  return lines.join('\n');
}

function timestampForFileName(date) {
  return date.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
}

/** results/<start time>[-mode].json, and results/latest.json for a full run of every scenario. */
function writeReport(report, complete) {
  const folder = path.join(benchDirectory, 'results');
  mkdirSync(folder, { recursive: true });
  const suffix = report.mode === 'full' && complete ? '' : `-${report.mode}${complete ? '' : '-partial'}`;
  const files = [path.join(folder, `${timestampForFileName(new Date(report.startedAt))}${suffix}.json`)];
  // latest.json is the run BENCHMARKS.md quotes: a shorter or partial run never replaces it.
  if (report.mode === 'full' && complete) files.push(path.join(folder, 'latest.json'));
  for (const file of files) writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return files;
}

async function main() {
  const { mode, rounds, scenarios, complete } = parseArguments(process.argv.slice(2));
  const startedAt = new Date();
  const machine = describeMachine();
  const loadAverageAtStart = loadAverages();
  const stopBackgroundMeter = startBackgroundMeter();

  // Settings per scenario, prepared once (the pure-Python loop is calibrated here) so that every
  // round and every peer get exactly the same work.
  const prepare = (scenario) => scenario.prepare?.(scenario.settings[mode]) ?? scenario.settings[mode];
  const settings = new Map(scenarios.map((scenario) => [scenario, prepare(scenario)]));
  const { results, failures } = await runRounds({ mode, rounds, scenarios, settings });

  const background = { loadAverageAtStart, loadAverageAtEnd: loadAverages(), ...stopBackgroundMeter() };
  const finishedAt = new Date();
  const seconds = (finishedAt - startedAt) / 1000;
  const calibration = [...settings.values()].find((scenarioSettings) => scenarioSettings.calibration)?.calibration;
  const goals = evaluateGoals(scenarios, results);
  const printed = [
    renderHeader({ mode, rounds, seconds, machine, background, calibration }),
    renderTable(scenarios, results),
    mode === 'smoke' ? 'goals: not judged in a smoke run' : renderGoals(goals),
    renderFloorComparisons(scenarios, results),
  ]
    .filter(Boolean)
    .join('\n\n');
  console.log(`\n${printed}`);

  if (mode !== 'smoke') {
    const report = {
      mode,
      rounds,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      seconds,
      machine,
      background,
      settings: Object.fromEntries([...settings].map(([scenario, scenarioSettings]) => [scenario.id, scenarioSettings])),
      rows: results.toJSON(scenarios),
      goals,
      failures,
      printed,
    };
    const files = writeReport(report, complete);
    console.log(`\nwrote ${files.map((file) => path.relative(process.cwd(), file)).join(' and ')}`);
  }

  if (failures.length > 0) {
    console.error(`\n${failures.length} measurement${failures.length === 1 ? '' : 's'} failed:`);
    for (const { round, scenario, peer, error } of failures) {
      console.error(`  round ${round + 1} ${scenario} ${peer}: ${error.split('\n')[0]}`);
    }
    process.exitCode = 1;
  }
}

await main();
