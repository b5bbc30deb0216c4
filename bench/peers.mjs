// Snakepit against the stdio floor and a peer library: sequential `echo` calls (one in flight),
// the same payloads and the same Python interpreter everywhere. Not a test: figures only.
//   node bench/peers.mjs [--quick]
// Peers:
//   snakepit      @snakepit/sdk pool(1), process mode (pythonAdapter, ShowcaseAdapter.echo)
//   ndjson-stdio  a bare Python loop reading one JSON line from stdin and writing one to stdout,
//                 driven by node:child_process and a minimal line splitter: the floor for any
//                 stdio design
//   python-shell  the npm package python-shell 5 in JSON mode, one long-lived PythonShell running
//                 the very same Python loop, one send() per call answered by one 'message' event
// python-shell is deliberately not a dependency of this repository. Install it somewhere else:
//   mkdir -p /tmp/peers && cd /tmp/peers && npm init -y && npm i python-shell
// The bench looks for it in $PEERS_DIR/node_modules/python-shell (default PEERS_DIR=/tmp/peers)
// and skips that peer, saying so, when it is missing.
// Each peer runs in its own Node process (a heap shaped by one peer would skew the next one's GC
// cost). CPU columns: Node's own CPU and the Python process's CPU (from /proc) per call.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const durationMs = quick ? 1000 : 3000;
const warmupCalls = quick ? 200 : 500;
const peersDir = process.env.PEERS_DIR ?? '/tmp/peers';
const pythonShellDir = path.join(peersDir, 'node_modules', 'python-shell');

const payloads = {
  small: { text: 'hello', n: 42, items: [1, 2, 3], nested: { ok: true, ratio: 0.5 } },
  '64 KiB string': { text: 'x'.repeat(64 * 1024) },
};

/** The peer's Python side: one JSON request per line in, one JSON answer per line out. */
const pythonEchoLoop = `
import json, sys

def echo(**kwargs):
    return kwargs

TOOLS = {"echo": echo}

for line in iter(sys.stdin.readline, ""):
    request = json.loads(line)
    try:
        answer = {"id": request["id"], "result": TOOLS[request["tool"]](**request["args"])}
    except Exception as error:  # noqa: BLE001 - report every tool failure to the caller
        answer = {"id": request["id"], "error": repr(error)}
    sys.stdout.write(json.dumps(answer) + "\\n")
    sys.stdout.flush()
`;

function pythonCommand() {
  if (process.env.SNAKEPIT_PYTHON) return process.env.SNAKEPIT_PYTHON;
  const local = path.join(root, '.venv', 'bin', 'python');
  return existsSync(local) ? local : 'python3';
}

/** Python's CPU seconds so far, from /proc (Linux only; NaN elsewhere). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function percentile(sorted, fraction) {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/** Warm-up, then back-to-back calls for the duration; checks every answer. */
async function measure(pid, call, payload) {
  // Deep equality, not JSON text: the snakepit wire carries arguments as a map, so key order may change.
  const check = (result) => {
    if (!isDeepStrictEqual(result, payload)) throw new Error(`wrong echo: ${JSON.stringify(result).slice(0, 200)}`);
  };
  for (let index = 0; index < warmupCalls; index++) check(await call(payload));
  const latencies = [];
  const pythonBefore = cpuSeconds(pid);
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const until = startedAt + durationMs;
  while (performance.now() < until) {
    const callStartedAt = performance.now();
    const result = await call(payload);
    latencies.push(performance.now() - callStartedAt);
    check(result);
  }
  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  const pythonMs = (cpuSeconds(pid) - pythonBefore) * 1000;
  latencies.sort((a, b) => a - b);
  return {
    'calls/s': Math.round((latencies.length / elapsedMs) * 1000),
    'p50 ms': Number(percentile(latencies, 0.5).toFixed(3)),
    'p99 ms': Number(percentile(latencies, 0.99).toFixed(3)),
    'node CPU ms/call': Number(((cpu.user + cpu.system) / 1000 / latencies.length).toFixed(3)),
    'python CPU ms/call': Number((pythonMs / latencies.length).toFixed(3)),
  };
}

/** Request/answer pairing by id over any line transport; one call in flight in this bench. */
function lineClient(write) {
  const pending = new Map();
  let nextId = 0;
  return {
    call(payload) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        write({ id, tool: 'echo', args: payload });
      });
    },
    answer(message) {
      const entry = pending.get(message.id);
      if (!entry) return;
      pending.delete(message.id);
      if ('error' in message) entry.reject(new Error(message.error));
      else entry.resolve(message.result);
    },
    failAll(error) {
      for (const entry of pending.values()) entry.reject(error);
      pending.clear();
    },
  };
}

const peers = {
  async snakepit() {
    const { createPool } = await import('@snakepit/sdk');
    const { pythonAdapter } = await import('@snakepit/adapter-python');
    const pool = createPool({
      adapter: pythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter', python: pythonCommand() }),
      size: 1,
    });
    await pool.ready();
    const pid = pool.listWorkers()[0]?.pid;
    return { pid, call: (payload) => pool.execute('echo', payload), close: () => pool.close() };
  },

  async 'ndjson-stdio'(scriptPath) {
    const child = spawn(pythonCommand(), [scriptPath], { stdio: ['pipe', 'pipe', 'inherit'] });
    const client = lineClient((message) => child.stdin.write(`${JSON.stringify(message)}\n`));
    // The leanest line splitter (node:readline costs more per line than this).
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      buffered += text;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        client.answer(JSON.parse(buffered.slice(0, newline)));
        buffered = buffered.slice(newline + 1);
      }
    });
    child.once('exit', (code) => client.failAll(new Error(`python exited with ${code}`)));
    return {
      pid: child.pid,
      call: client.call,
      close: () => new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
      }),
    };
  },

  async 'python-shell'(scriptPath) {
    const require = createRequire(path.join(peersDir, 'package.json'));
    const { PythonShell } = require(pythonShellDir);
    const shell = new PythonShell(path.basename(scriptPath), {
      mode: 'json',
      pythonPath: pythonCommand(),
      scriptPath: path.dirname(scriptPath),
    });
    const client = lineClient((message) => shell.send(message));
    shell.on('message', (message) => client.answer(message));
    shell.on('error', (error) => client.failAll(error));
    return {
      pid: shell.childProcess.pid,
      call: client.call,
      close: () => new Promise((resolve) => shell.end(() => resolve())),
    };
  },
};

/** Runs every payload against one peer in this (fresh) process; prints its rows as JSON. */
async function measureInChild([name, scriptPath]) {
  const peer = await peers[name](scriptPath);
  const rows = {};
  try {
    for (const [label, payload] of Object.entries(payloads)) rows[label] = await measure(peer.pid, peer.call, payload);
  } finally {
    await peer.close();
  }
  console.log(JSON.stringify(rows));
  process.exit(0);
}

async function main() {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'snakepit-peers-'));
  const scriptPath = path.join(folder, 'echo_loop.py');
  writeFileSync(scriptPath, pythonEchoLoop);
  const version = spawnSync(pythonCommand(), ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`sequential echo calls (1 in flight), ${durationMs / 1000} s per figure after ${warmupCalls} warm-up calls, ${version}`);
  const results = {};
  try {
    for (const name of Object.keys(peers)) {
      if (name === 'python-shell' && !existsSync(pythonShellDir)) {
        console.log(
          `\nskipping python-shell: ${pythonShellDir} is missing.` +
            `\n  install it outside the repository: mkdir -p ${peersDir} && cd ${peersDir} && npm init -y && npm i python-shell` +
            '\n  (or point PEERS_DIR at a folder whose node_modules holds it)',
        );
        continue;
      }
      const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, scriptPath, ...process.argv.slice(2)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 60_000,
      });
      if (run.status !== 0) {
        console.log(`\n${name}: measurement failed (exit ${run.status ?? run.signal})`);
        continue;
      }
      results[name] = JSON.parse(run.stdout.trim().split('\n').at(-1));
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  for (const label of Object.keys(payloads)) {
    const table = {};
    for (const [name, rows] of Object.entries(results)) table[name] = rows[label];
    console.log(`\npayload: ${label} (${JSON.stringify(payloads[label]).length} bytes of JSON)`);
    console.table(table);
  }
}

const childArguments = process.argv.indexOf('--child');
if (childArguments >= 0) await measureInChild(process.argv.slice(childArguments + 1));
else await main();
