#!/usr/bin/env node
// Fails when the committed generated code (TypeScript and Python) differs from what `buf generate`
// produces from proto/. Needs protoc and grpc_python_plugin on PATH (Debian: protobuf-compiler,
// protobuf-compiler-grpc), which buf.gen.yaml uses for the Python output.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'snakepit-gen-'));
const generated = ['packages/sdk/src/gen', 'packages/adapter-python/python/snakepit'];
try {
  for (const file of ['buf.yaml', 'buf.gen.yaml', 'proto']) cpSync(path.join(root, file), path.join(scratch, file), { recursive: true });
  const buf = path.join(root, 'node_modules', '.bin', 'buf');
  const env = { ...process.env, PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` };
  const generate = spawnSync(buf, ['generate'], { cwd: scratch, stdio: 'inherit', env });
  if (generate.status !== 0) process.exit(generate.status ?? 1);
  let stale = false;
  for (const folder of generated) {
    const diff = spawnSync('diff', ['-r', '-x', '__pycache__', path.join(root, folder), path.join(scratch, folder)], { stdio: 'inherit' });
    if (diff.status !== 0) stale = true;
  }
  if (stale) {
    console.error('generated code is stale: run `npm run generate` and commit the result');
    process.exit(1);
  }
  console.log('generated code is fresh');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
