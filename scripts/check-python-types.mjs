#!/usr/bin/env node
// Type-checks the Python package (snakepit_bridge) with mypy in strict mode, with the project's .venv
// interpreter and packages/adapter-python/python/mypy.ini. A missing mypy is a failure that says
// what to install, never a skipped check.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const venv = path.join(root, '.venv');
const python = process.env.SNAKEPIT_PYTHON ?? path.join(venv, 'bin', 'python');
const suite = path.join(root, 'packages', 'adapter-python', 'python');
// Outside the package folder, which ships in the npm tarball.
const cacheDir = path.join(root, 'node_modules', '.cache', 'snakepit-mypy');
// The version scripts/setup.mjs installs with pip.
const mypyRequirement = 'mypy==2.4.0';

function installHint() {
  if (process.env.SNAKEPIT_PYTHON !== undefined) return `\`${python} -m pip install '${mypyRequirement}'\``;
  const config = path.join(venv, 'pyvenv.cfg');
  const onDebianPackages = existsSync(config) && /^include-system-site-packages\s*=\s*true\s*$/m.test(readFileSync(config, 'utf8'));
  // A .venv that setup.mjs built on Debian's python3-grpcio sees Debian's packages only.
  return onDebianPackages
    ? '`apt-get install mypy` (this .venv uses Debian\'s Python packages)'
    : `\`.venv/bin/python -m pip install '${mypyRequirement}'\``;
}

const probe = spawnSync(python, ['-c', 'import mypy'], { stdio: 'ignore' });
if (probe.error) {
  console.error(`could not run ${python}: ${probe.error.message} (run \`node scripts/setup.mjs\` first)`);
  process.exit(1);
}
if (probe.status !== 0) {
  console.error(`mypy is not installed for ${python}; the Python type check needs it. Install it with ${installHint()}, or run \`node scripts/setup.mjs\`.`);
  process.exit(1);
}
const result = spawnSync(python, ['-m', 'mypy', '--cache-dir', cacheDir], { cwd: suite, stdio: 'inherit' });
if (result.error) {
  console.error(`could not run ${python} -m mypy: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
