#!/usr/bin/env node
// The release check: what a user gets from npm, tried outside the monorepo. It packs every public
// package (each `prepack` builds it), checks the tarballs' contents, runs publint and attw on them,
// installs them with a plain `npm install ./*.tgz` into a fresh project under os.tmpdir(), makes a
// Python venv there with the documented command, and runs an ES module and a CommonJS script that
// start Python pools, plus a strict TypeScript check of a typed usage file under each module
// resolution mode. Exits non-zero, naming what failed, when any check fails; always cleans up
// (unless --keep). Fixtures live in scripts/release-check/.
//
//   node scripts/release-check.mjs [--keep]
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.join(root, 'scripts', 'release-check');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const keep = process.argv.includes('--keep');
const typescriptVersion = '5.9.3';
const nodeTypesRange = '^20.19.0';
// The Python side as the adapter README documents it.
const pythonRequirements = ['grpcio', 'protobuf'];
// The sdk README: with @types/node (which the sdk's types reference) any lib from ES2022 on has what
// `await using` needs; ESNext.Disposable is TypeScript's own declaration of the same.
const userLib = ['ES2022'];

const results = [];
const started = Date.now();
const work = mkdtempSync(path.join(os.tmpdir(), 'snakepit-release-check-'));
const packs = path.join(work, 'packs');
const app = path.join(work, 'app');
mkdirSync(packs);
mkdirSync(app);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    if (!keep) rmSync(work, { recursive: true, force: true });
    process.exit(128 + os.constants.signals[signal]);
  });
}

class CheckFailed extends Error {}

function log(message) {
  console.log(`[release-check] ${message}`);
}

/** Runs a command; resolves with its output, or rejects with a message that includes it. */
function run(command, args, { cwd = root, env = process.env, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data) => (output += data));
    child.stderr.on('data', (data) => (output += data));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new CheckFailed(`could not run ${command}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else {
        const how = signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, over ${timeoutMs / 1000} s` : ''})` : `exited with ${code}`;
        const shown = [command, ...args].join(' ').replaceAll(work, '$TMP');
        reject(new CheckFailed(`\`${shown}\` (in ${cwd.replace(work, '$TMP')}) ${how}:\n${output.trim()}`));
      }
    });
  });
}

/** Records one row of the summary; a failure is kept (with its message) and does not stop the others. */
async function check(name, target, body) {
  const begin = Date.now();
  try {
    const detail = (await body()) ?? '';
    results.push({ name, target, ok: true, seconds: (Date.now() - begin) / 1000, detail });
    return true;
  } catch (error) {
    const message = error instanceof CheckFailed ? error.message : error?.stack ?? String(error);
    results.push({ name, target, ok: false, seconds: (Date.now() - begin) / 1000, detail: message });
    console.error(`\n[release-check] FAILED ${name}${target ? ` (${target})` : ''}:\n${indent(message)}\n`);
    return false;
  }
}

function indent(text) {
  return text.split('\n').map((line) => `    ${line}`).join('\n');
}

function fail(message) {
  throw new CheckFailed(message);
}

function publicPackages() {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  return manifest.workspaces
    .map((folder) => ({ folder, manifest: JSON.parse(readFileSync(path.join(root, folder, 'package.json'), 'utf8')) }))
    .filter(({ manifest: pkg }) => !pkg.private)
    .map(({ folder, manifest: pkg }) => ({
      folder,
      name: pkg.name,
      manifest: pkg,
      tarball: `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`,
    }));
}

// -- the tarballs ---------------------------------------------------------------------------------

async function pack(pkg) {
  await run('npm', ['pack', '--pack-destination', packs, '--loglevel=warn'], {
    cwd: path.join(root, pkg.folder),
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    timeoutMs: 180_000,
  });
  if (!existsSync(path.join(packs, pkg.tarball))) fail(`npm pack did not write ${pkg.tarball}`);
  const files = (await run('tar', ['-tzf', path.join(packs, pkg.tarball)])).split('\n').filter(Boolean).map((entry) => entry.replace(/^package\//, ''));
  const problems = [];
  const shipped = new Set(files);
  const license = await run('tar', ['-xzOf', path.join(packs, pkg.tarball), 'package/LICENSE']).catch(() => undefined);
  if (license === undefined) problems.push('LICENSE is not shipped');
  else if (license !== readFileSync(path.join(root, 'LICENSE'), 'utf8')) problems.push('LICENSE differs from the root LICENSE');
  if (!shipped.has('README.md')) problems.push('README.md is not shipped');
  if (!files.some((file) => file.startsWith('dist/'))) problems.push('dist/ is not shipped (did prepack build?)');
  const unwanted = files.filter((file) => /(^|\/)(__pycache__|tests?|fixtures|\.pytest_cache)\/|\.py[co]$|(^|\/)test_[^/]*\.py$|\.test\.[cm]?[jt]s$|\.tsbuildinfo$/.test(file));
  if (unwanted.length > 0) problems.push(`ships test or cache files: ${unwanted.slice(0, 5).join(', ')}${unwanted.length > 5 ? ', ...' : ''}`);
  if (pkg.manifest.files?.some((entry) => entry.startsWith('python/'))) {
    for (const required of ['python/snakepit_bridge/__init__.py', 'python/snakepit_bridge/server.py']) {
      if (!shipped.has(required)) problems.push(`${required} is not shipped`);
    }
  }
  problems.push(...readmeLinkProblems(pkg, shipped));
  if (problems.length > 0) fail(problems.join('\n'));
  return `${files.length} files`;
}

/** Relative links of the README must reach a shipped file (inside the package) or a repository file. */
function readmeLinkProblems(pkg, shipped) {
  const readme = path.join(root, pkg.folder, 'README.md');
  if (!existsSync(readme)) return [];
  const problems = [];
  for (const [, target] of readFileSync(readme, 'utf8').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:|^#|^\//i.test(target)) continue;
    const file = decodeURIComponent(target.split('#')[0]);
    const inPackage = path.posix.normalize(file);
    if (!inPackage.startsWith('../')) {
      if (!shipped.has(inPackage) && ![...shipped].some((entry) => entry.startsWith(`${inPackage.replace(/\/$/, '')}/`))) {
        problems.push(`README.md links ${target}, which is not in the tarball (add it to "files")`);
      }
    } else if (!existsSync(path.join(root, pkg.folder, file))) {
      problems.push(`README.md links ${target}, which does not exist`);
    }
  }
  return problems;
}

async function publint(pkg) {
  const output = await run(bin('publint'), ['run', path.join(packs, pkg.tarball), '--strict', '--level', 'suggestion']);
  if (!/All good!/.test(output)) fail(`publint reported:\n${output.trim()}`);
  return 'clean';
}

async function attw(pkg) {
  // The tarball that gets installed, which is what `attw --pack` would make (without packing twice).
  const output = await run(bin('attw'), [path.join(packs, pkg.tarball), '--format', 'json'], { timeoutMs: 60_000 })
    .catch(async (error) => {
      const table = await run(bin('attw'), [path.join(packs, pkg.tarball), '--format', 'table-flipped', '--no-color']).catch((e) => e.message);
      fail(`${error.message.split('\n')[0]}\n${table}`);
    });
  const report = JSON.parse(output);
  const entrypoints = Object.keys(report.analysis.entrypoints ?? {});
  const problems = report.analysis.problems ?? [];
  if (problems.length > 0) fail(`attw found ${problems.map((problem) => problem.kind).join(', ')}`);
  return `${entrypoints.length} entrypoints x 4 resolutions`;
}

// -- the fresh project ----------------------------------------------------------------------------

function assertOutsideAnyProject() {
  // Node and TypeScript look for node_modules in every parent folder; one there would hide a
  // dependency the tarballs forgot to declare.
  for (let folder = path.dirname(app); ; folder = path.dirname(folder)) {
    if (existsSync(path.join(folder, 'node_modules'))) fail(`${folder}/node_modules exists, so the project is not isolated; set TMPDIR to another folder`);
    if (path.relative(root, folder) === '' ) fail(`the temporary folder ${app} is inside the monorepo; set TMPDIR`);
    if (path.dirname(folder) === folder) break;
  }
}

async function installTarballs(packages) {
  assertOutsideAnyProject();
  writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({
    name: 'snakepit-release-check-app',
    version: '0.0.0',
    private: true,
    devDependencies: { typescript: typescriptVersion, '@types/node': nodeTypesRange },
  }, null, 2)}\n`);
  for (const pkg of packages) copyFileSync(path.join(packs, pkg.tarball), path.join(app, pkg.tarball));
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...packages.map((pkg) => `./${pkg.tarball}`)], {
    cwd: app,
    timeoutMs: 180_000,
  });
  // One copy of each of our packages: a nested second sdk would break `instanceof SnakepitError`.
  const nested = [];
  for (const scope of ['node_modules/@snakepit']) {
    for (const name of readdirSync(path.join(app, scope))) {
      const inner = path.join(app, scope, name, 'node_modules');
      if (existsSync(inner)) nested.push(...readdirSync(inner).map((entry) => `${scope}/${name}/node_modules/${entry}`));
    }
  }
  if (nested.length > 0) fail(`nested dependency copies: ${nested.join(', ')} (a range does not admit the installed version)`);
  const installed = readdirSync(path.join(app, 'node_modules', '@snakepit'));
  return `${installed.map((name) => `@snakepit/${name}`).join(', ')}`;
}

async function pythonVenv() {
  const venv = path.join(app, '.venv');
  const python = path.join(venv, 'bin', 'python');
  // The documented command (adapter-python README); without retries an unreachable index fails fast.
  const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_RETRIES: '0' };
  delete env.VIRTUAL_ENV;
  await run('python3', ['-m', 'venv', venv], { env });
  let source = 'pip';
  try {
    await run(python, ['-m', 'pip', 'install', '--quiet', '--retries', '0', ...pythonRequirements], { env, timeoutMs: 180_000 });
  } catch (error) {
    // As scripts/setup.mjs does when the package index is unreachable: Debian's python3-grpcio and
    // python3-protobuf through a venv that sees the system's site-packages.
    const probe = 'import grpc, google.protobuf';
    if (!(await run('/usr/bin/python3', ['-c', probe]).then(() => true, () => false))) throw error;
    rmSync(venv, { recursive: true, force: true });
    await run('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', '--without-pip', venv], { env });
    source = 'Debian packages (pip failed)';
  }
  const versions = await run(python, ['-c', 'import sys, grpc, google.protobuf as p; print(sys.version.split()[0], grpc.__version__, p.__version__)'], { env });
  const [pythonVersion, grpcVersion, protobufVersion] = versions.trim().split(' ');
  return `Python ${pythonVersion}, grpcio ${grpcVersion}, protobuf ${protobufVersion} (${source})`;
}

/** The environment of the user's scripts: the interpreter must come from ./.venv, found by the adapter. */
function appEnvironment() {
  const env = { ...process.env };
  for (const name of ['SNAKEPIT_PYTHON', 'VIRTUAL_ENV', 'PYTHONPATH', 'NODE_OPTIONS', 'NODE_PATH']) delete env[name];
  return env;
}

async function runScript(file) {
  const output = await run(process.execPath, [file], { cwd: app, env: appEnvironment(), timeoutMs: 60_000 });
  const steps = output.split('\n').filter((line) => line.startsWith('  ok ')).length;
  if (steps === 0) fail(`no step ran:\n${output}`);
  return `${steps} steps`;
}

// Each program is strict and checks the shipped declaration files too (no skipLibCheck).
const typescriptModes = [
  { label: 'nodenext', files: ['usage.mts', 'usage.cts'], options: { module: 'nodenext', moduleResolution: 'nodenext' } },
  { label: 'bundler (esnext)', files: ['usage.ts'], options: { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2023', 'ESNext.Disposable'] } },
  // `types: []` loads no @types package by itself: the shipped .d.ts must reference Node's types.
  { label: 'bundler (preserve), types: []', files: ['usage.ts'], options: { module: 'preserve', moduleResolution: 'bundler', types: [] } },
  { label: 'node10 (commonjs)', files: ['usage.ts'], options: { module: 'commonjs', moduleResolution: 'node10' } },
  // @snakepit/sdk/testing exposes @connectrpc/connect's types, which need DOM's HeadersInit. Under
  // node10, where its subpath resolves through typesVersions (the ESM and CJS scripts load it too).
  { label: 'testing: node10, +DOM', files: ['usage-testing.ts'], options: { module: 'commonjs', moduleResolution: 'node10', lib: [...userLib, 'DOM'] } },
];

/** Runs the tasks at most `limit` at a time (tsc is CPU-bound; CI machines are small). */
async function limited(tasks, limit = Math.max(2, os.availableParallelism())) {
  const queue = [...tasks];
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length > 0) await queue.shift()();
  }));
}

async function typecheck(mode, index) {
  const config = path.join(app, `tsconfig.${index}.json`);
  writeFileSync(config, `${JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      lib: userLib,
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      noImplicitOverride: true,
      // Check the shipped declaration files as well, not only the usage file.
      skipLibCheck: false,
      noEmit: true,
      ...mode.options,
    },
    files: mode.files,
  }, null, 2)}\n`);
  await run(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', config], { cwd: app, timeoutMs: 90_000 });
  return `${mode.files.join(', ')}, strict`;
}

async function doctor() {
  // `npx snakepit doctor` (a bin of @snakepit/adapter-python) must pass in this project, and fail,
  // naming the fix, for an interpreter without grpcio.
  const manifest = JSON.parse(readFileSync(path.join(app, 'node_modules', '@snakepit', 'adapter-python', 'package.json'), 'utf8'));
  if (!manifest.bin || !('snakepit' in (typeof manifest.bin === 'string' ? {} : manifest.bin))) return undefined;
  const env = appEnvironment();
  await run('npx', ['--no-install', 'snakepit', 'doctor'], { cwd: app, env, timeoutMs: 60_000 });
  const bare = path.join(work, 'bare-venv');
  await run('python3', ['-m', 'venv', '--without-pip', bare]);
  const failure = await run('npx', ['--no-install', 'snakepit', 'doctor'], {
    cwd: app,
    env: { ...env, SNAKEPIT_PYTHON: path.join(bare, 'bin', 'python') },
    timeoutMs: 60_000,
  }).then(
    () => fail('the doctor exited 0 for an interpreter without grpcio'),
    (error) => error.message,
  );
  if (!/pip install/.test(failure)) fail(`the doctor's failure does not name a pip command:\n${failure}`);
  return 'green here; non-zero without grpcio';
}

// -- the run --------------------------------------------------------------------------------------

function summary() {
  const rows = results.map((result) => [result.ok ? 'ok' : 'FAIL', result.name, result.target, `${result.seconds.toFixed(1)}s`, result.ok ? result.detail : result.detail.split('\n')[0].slice(0, 70)]);
  const header = ['', 'check', 'target', 'time', 'detail'];
  const widths = header.map((_, column) => Math.max(header[column].length, ...rows.map((row) => row[column].length)));
  const line = (row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  console.log(`\n${line(header)}\n${widths.map((width) => '-'.repeat(width)).join('  ')}\n${rows.map(line).join('\n')}`);
}

async function main() {
  const packages = publicPackages();
  log(`packing ${packages.map((pkg) => pkg.name).join(', ')} into ${work}`);
  for (const pkg of packages) {
    // Sequential: each prepack runs turbo, and two turbo builds of the same package must not overlap.
    if (!(await check('pack', pkg.name, () => pack(pkg)))) throw new CheckFailed('packing failed');
  }
  const appReady = Promise.all([
    check('npm install ./*.tgz', 'fresh project', () => installTarballs(packages)),
    check('python venv + pip', 'fresh project', pythonVenv),
  ]);
  log('publint and attw on every tarball; npm install and the venv in the fresh project');
  for (const pkg of packages) {
    await Promise.all([check('publint', pkg.name, () => publint(pkg)), check('attw', pkg.name, () => attw(pkg))]);
  }
  const [installed, venv] = await appReady;
  if (!installed) return;
  for (const file of ['esm.mjs', 'cjs.cjs', 'scenario.cjs']) copyFileSync(path.join(fixtures, file), path.join(app, file));
  for (const name of ['usage', 'usage-testing']) {
    for (const extension of ['.ts', '.mts', '.cts']) copyFileSync(path.join(fixtures, `${name}.ts`), path.join(app, `${name}${extension}`));
  }
  log('running the ESM and CommonJS scripts and the TypeScript checks in the fresh project');
  await limited([
    ...(venv
      ? [() => check('ESM script', 'node esm.mjs', () => runScript('esm.mjs')), () => check('CommonJS script', 'node cjs.cjs', () => runScript('cjs.cjs'))]
      : []),
    ...typescriptModes.map((mode, index) => () => check('tsc', mode.label, () => typecheck(mode, index))),
  ]);
  if (venv) {
    await check('snakepit doctor', 'fresh project', async () => (await doctor()) ?? 'skipped: @snakepit/adapter-python has no `snakepit` bin');
  }
}

let crashed;
try {
  await main();
} catch (error) {
  crashed = error;
} finally {
  if (keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
summary();
const failures = results.filter((result) => !result.ok);
const seconds = ((Date.now() - started) / 1000).toFixed(0);
if (crashed && !(crashed instanceof CheckFailed)) {
  console.error(`\n[release-check] crashed: ${crashed.stack ?? crashed}`);
  process.exit(1);
}
if (failures.length > 0 || crashed) {
  console.error(`\n[release-check] FAILED: ${failures.map((result) => `${result.name}${result.target ? ` (${result.target})` : ''}`).join(', ')} — details above. (${seconds} s)`);
  process.exit(1);
}
log(`all ${results.length} checks passed in ${seconds} s`);
