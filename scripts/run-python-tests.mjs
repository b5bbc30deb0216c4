#!/usr/bin/env node
// Runs the Python package's pytest suite with the project's .venv interpreter.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const python = process.env.SNAKEPIT_PYTHON ?? path.join(root, '.venv', 'bin', 'python');
const suite = path.join(root, 'packages', 'adapter-python', 'python');
const result = spawnSync(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], { cwd: suite, stdio: 'inherit' });
if (result.error) {
  console.error(`could not run ${python}: ${result.error.message} (run \`node scripts/setup.mjs\` first)`);
  process.exit(1);
}
// pytest exits 5 when it collected nothing: a missing suite is a failure here, not a pass.
process.exit(result.status ?? 1);
