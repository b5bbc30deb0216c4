// The transport floor: what one gRPC call to a warm Python grpcio worker costs before any pool,
// payload encoding or tool code is involved, with connect-node's stock gRPC transport and with the
// sdk's lean node:http2 transport (packages/sdk/src/transport). Not a test: figures only.
//   node bench/transport-floor.mjs [--quick]
// Needs the Python environment from `npm run setup` (.venv with grpcio) or SNAKEPIT_PYTHON.
// The lean transport is bundled from source with esbuild (a tsup dependency), so no build is needed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const durationMs = quick ? 1000 : 3000;

const pythonServer = `
import asyncio, grpc
from snakepit.bridge.v1 import common_pb2, worker_pb2, worker_pb2_grpc

class Worker(worker_pb2_grpc.WorkerServiceServicer):
    async def Ping(self, request, context):
        return worker_pb2.PingResponse(message=request.message)

    async def ExecuteTool(self, request, context):
        payload = request.call.binary_parameters.get("payload", b"")
        return worker_pb2.ExecuteToolResponse(result=common_pb2.ToolValue(binary=payload))

    async def ExecuteStreamingTool(self, request, context):
        chunk = worker_pb2.ExecuteStreamingToolResponse(data=common_pb2.ToolValue(json=b'{"step":1}'))
        for _ in range(int(request.call.metadata.get("count", "1000"))):
            yield chunk
        yield worker_pb2.ExecuteStreamingToolResponse(is_final=True)

async def main():
    limit = 64 * 1024 * 1024
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)])
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(Worker(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"PORT {port}", flush=True)
    await server.wait_for_termination()

asyncio.run(main())
`;

function pythonCommand() {
  if (process.env.SNAKEPIT_PYTHON) return process.env.SNAKEPIT_PYTHON;
  const local = path.join(root, '.venv', 'bin', 'python');
  return existsSync(local) ? local : 'python3';
}

async function startPython() {
  const child = spawn(pythonCommand(), ['-c', pythonServer], {
    env: { ...process.env, PYTHONPATH: path.join(root, 'packages', 'adapter-python', 'python') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (data) => {
      output += data;
      const match = /PORT (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`python server exited with ${code}`)));
  });
  return { child, port };
}

/** Bundles the lean transport and the WorkerService descriptor from TypeScript source. */
async function bundleLeanTransport() {
  const outfile = path.join(root, 'node_modules', '.cache', 'snakepit-bench', 'transport.mjs');
  mkdirSync(path.dirname(outfile), { recursive: true });
  const options = {
    stdin: {
      contents: [
        "export { createGrpcHttp2Transport } from './packages/sdk/src/transport/index.ts';",
        "export { WorkerService } from './packages/sdk/src/gen/snakepit/bridge/v1/worker_pb.ts';",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  };
  const script = `require('esbuild').build(${JSON.stringify(options)}).catch(() => process.exit(1));`;
  const result = spawnSync(process.execPath, ['-e', script], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('could not bundle packages/sdk/src/transport with esbuild');
  return outfile;
}

/** Python's CPU seconds so far, from /proc (Linux only; NaN elsewhere). */
function pythonCpuSeconds(pid) {
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

async function measure(pid, inFlight, call, warmUpCalls) {
  for (let index = 0; index < warmUpCalls; index++) await call();
  const latencies = [];
  let calls = 0;
  const until = performance.now() + durationMs;
  async function lane() {
    while (performance.now() < until) {
      const startedAt = performance.now();
      const completed = await call();
      calls += completed;
      latencies.push(performance.now() - startedAt);
    }
  }
  const pythonBefore = pythonCpuSeconds(pid);
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  const pythonMs = (pythonCpuSeconds(pid) - pythonBefore) * 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: Math.round((calls / elapsedMs) * 1000),
    p50Ms: percentile(latencies, 0.5).toFixed(3),
    p99Ms: percentile(latencies, 0.99).toFixed(3),
    nodeCpuMsPerUnit: ((cpu.user + cpu.system) / 1000 / calls).toFixed(3),
    pythonCpuMsPerUnit: (pythonMs / calls).toFixed(3),
  };
}

const megabyte = new Uint8Array(1 << 20);

/** Warm-up calls per scenario unless it sets `warmUpCalls`; a stream call is already 1000 chunks. */
const defaultWarmUpCalls = 200;

const scenarios = {
  'unary ping, 1 in flight': { inFlight: 1, call: (client) => client.ping({ message: 'ping' }).then(() => 1) },
  'unary ping, 16 in flight': { inFlight: 16, call: (client) => client.ping({ message: 'ping' }).then(() => 1) },
  'unary 1 MiB echo, 1 in flight': {
    inFlight: 1,
    call: (client) => client.executeTool({ call: { toolName: 'echo', binaryParameters: { payload: megabyte } } }).then(() => 1),
  },
  'stream of 1000 chunks (figures per chunk)': {
    inFlight: 1,
    warmUpCalls: 10,
    call: async (client) => {
      let chunks = 0;
      for await (const _ of client.executeStreamingTool({ call: { toolName: 'stream', metadata: { count: '1000' } } })) chunks++;
      return chunks;
    },
  },
};

/** One measurement in this (fresh) process; prints its row as JSON for the parent. */
async function measureInChild([scenario, label, port, pythonPid, bundle]) {
  const { createGrpcHttp2Transport, WorkerService } = await import(pathToFileURL(bundle).href);
  const baseUrl = `http://127.0.0.1:${port}`;
  const transport =
    label === 'stock' ? createGrpcTransport({ baseUrl, acceptCompression: [] }) : createGrpcHttp2Transport({ baseUrl });
  const client = createClient(WorkerService, transport);
  const { inFlight, call, warmUpCalls = defaultWarmUpCalls } = scenarios[scenario];
  console.log(JSON.stringify(await measure(Number(pythonPid), inFlight, () => call(client), warmUpCalls)));
  process.exit(0);
}

/**
 * Every (scenario, transport) pair runs in its own Node process: a heap shaped by an earlier run
 * (the stock transport leaves a much larger one) otherwise skews garbage-collection cost, and so
 * the large-message figures, of whatever runs next.
 */
async function main() {
  const { child, port } = await startPython();
  const bundle = await bundleLeanTransport();
  try {
    for (const scenario of Object.keys(scenarios)) {
      const rows = {};
      for (const label of ['stock', 'lean']) {
        const run = spawnSync(
          process.execPath,
          [fileURLToPath(import.meta.url), '--child', scenario, label, String(port), String(child.pid), bundle, ...process.argv.slice(2)],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
        );
        if (run.status !== 0) throw new Error(`measuring ${label} on "${scenario}" failed`);
        rows[label] = JSON.parse(run.stdout.trim().split('\n').at(-1));
      }
      console.log(`\n${scenario}`);
      console.table(rows);
    }
  } finally {
    child.kill();
  }
}

const childArguments = process.argv.indexOf('--child');
if (childArguments >= 0) await measureInChild(process.argv.slice(childArguments + 1));
else await main();
