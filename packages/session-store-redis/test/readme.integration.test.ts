/** The README's example runs as printed, against a real Redis and real Python. */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from './support/redis-server.js';
import { testPython } from './support/replica.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Inside the repository, so the packages resolve from the workspace (.scratch/ is git-ignored).
const scratch = path.join(packageRoot, '.scratch');

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await redis?.stop();
});

function exampleOf(readme: string): string {
  const section = readme.slice(readme.indexOf('## Example'));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('no js block under "## Example" in the README');
  return match[1]!;
}

it('runs the example: state set in Node is read by a Python tool, and the process exits by itself', async () => {
  mkdirSync(scratch, { recursive: true });
  const file = path.join(scratch, 'readme-example.mjs');
  writeFileSync(file, exampleOf(readFileSync(path.join(packageRoot, 'README.md'), 'utf8')));
  const child = spawn(process.execPath, [file], {
    cwd: scratch,
    env: { ...process.env, REDIS_URL: redis.url, SNAKEPIT_PYTHON: testPython },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (data) => (output += data));
  child.stderr.on('data', (data) => (output += data));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect({ code, output }).toEqual({ code: 0, output: "{ items: [ 'A-1' ] }\n" });
}, 60_000);
