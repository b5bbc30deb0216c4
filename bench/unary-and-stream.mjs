// Prints throughput and latency figures for real Python workers. Not a test: figures only.
//   node bench/unary-and-stream.mjs [--quick]
// Sections: worker start-to-ready, unary calls (pool sizes x calls in flight), stream chunks/s.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createPool } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';

const quick = process.argv.includes('--quick');
const durationMs = quick ? 1000 : 3000;
// The repository root, so the project's .venv is found from any working folder.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const adapter = pythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter', cwd: root });

function percentile(sorted, fraction) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

async function startupMs() {
  const samples = [];
  for (let run = 0; run < (quick ? 2 : 5); run++) {
    const startedAt = performance.now();
    const pool = createPool({ adapter, size: 1 });
    await pool.ready();
    samples.push(performance.now() - startedAt);
    await pool.close();
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), min: samples[0], max: samples.at(-1) };
}

async function unary(pool, inFlight) {
  const latencies = [];
  const until = performance.now() + durationMs;
  let calls = 0;
  async function lane() {
    while (performance.now() < until) {
      const startedAt = performance.now();
      await pool.execute('echo', { text: 'hello' });
      latencies.push(performance.now() - startedAt);
      calls++;
    }
  }
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, lane));
  const elapsed = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  return {
    callsPerSecond: (calls / elapsed) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    nodeCpuMsPerCall: (cpu.user + cpu.system) / 1000 / calls,
  };
}

async function streamChunksPerSecond(pool) {
  const steps = quick ? 2000 : 10000;
  const startedAt = performance.now();
  let chunks = 0;
  for await (const _chunk of pool.executeStream('stream_progress', { steps, delay_ms: 0 })) chunks++;
  return (chunks / (performance.now() - startedAt)) * 1000;
}

const format = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

const started = await startupMs();
console.log(`worker start-to-ready: p50 ${format(started.p50, 0)} ms (min ${format(started.min, 0)}, max ${format(started.max, 0)})`);

console.log('\nunary echo: pool size x calls in flight');
console.log('size  in-flight  calls/s   p50 ms   p99 ms   node CPU ms/call');
for (const size of [1, 2, 4]) {
  const pool = createPool({ adapter, size, maxQueue: 10_000 });
  await pool.ready();
  while (pool.listWorkers().filter((worker) => worker.state === 'ready').length < size) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await unary(pool, 4); // warm-up
  for (const inFlight of [1, 16, 64]) {
    const result = await unary(pool, inFlight);
    console.log(
      `${String(size).padEnd(6)}${String(inFlight).padEnd(11)}${format(result.callsPerSecond, 0).padEnd(10)}` +
        `${format(result.p50).padEnd(9)}${format(result.p99).padEnd(9)}${format(result.nodeCpuMsPerCall, 3)}`,
    );
  }
  if (size === 1) {
    console.log(`\nstream: ${format(await streamChunksPerSecond(pool), 0)} chunks/s (one worker)\n`);
  }
  await pool.close();
}
