/**
 * Starts `fixtures/python/transport_test_server.py`, a Python grpcio (asyncio) WorkerService, the
 * kind of server the transport talks to in production, and reads the events it prints.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { file_snakepit_bridge_v1_common } from '../../src/gen/snakepit/bridge/v1/common_pb.js';
import { file_snakepit_bridge_v1_worker } from '../../src/gen/snakepit/bridge/v1/worker_pb.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repositoryRoot = path.resolve(here, '../../../..');
const serverScript = path.resolve(here, '../fixtures/python/transport_test_server.py');

/** The sdk's own generated descriptors, which the Python server builds its message classes from. */
function writeDescriptors(folder: string): string {
  const set = create(FileDescriptorSetSchema, { file: [file_snakepit_bridge_v1_common.proto, file_snakepit_bridge_v1_worker.proto] });
  const file = path.join(folder, 'worker.binpb');
  writeFileSync(file, toBinary(FileDescriptorSetSchema, set));
  return file;
}

/** The project's Python (set up by `npm run setup`), or SNAKEPIT_PYTHON. Missing grpcio fails the test run. */
export function pythonCommand(): string {
  return process.env.SNAKEPIT_PYTHON ?? path.join(repositoryRoot, '.venv', 'bin', 'python');
}

export interface PythonTestServer {
  readonly baseUrl: string;
  /** Takes the first event line starting with `prefix` (already printed or still to come), as words. */
  event(prefix: string): Promise<string[]>;
  close(): void;
}

export async function startPythonTestServer(python: string): Promise<PythonTestServer> {
  const folder = mkdtempSync(path.join(tmpdir(), 'snakepit-transport-'));
  const child = spawn(python, [serverScript, writeDescriptors(folder)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: { prefix: string; resolve: (words: string[]) => void }[] = [];
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (data: string) => {
    pending += data;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      const waiter = waiters.find((candidate) => line.startsWith(candidate.prefix));
      if (waiter === undefined) {
        lines.push(line);
      } else {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line.split(' '));
      }
    }
  });
  function event(prefix: string): Promise<string[]> {
    const seen = lines.findIndex((line) => line.startsWith(prefix));
    if (seen >= 0) return Promise.resolve((lines.splice(seen, 1)[0] as string).split(' '));
    return new Promise((resolve) => waiters.push({ prefix, resolve }));
  }
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`python test server exited with ${code}`))),
  );
  const [, port] = await Promise.race([event('PORT'), exited]);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    event,
    close: () => {
      child.kill();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
