#!/usr/bin/env node
// Idempotent set-up for a fresh clone: Node dependencies, the build, and a Python environment
// (.venv) with grpcio and protobuf, plus pytest and mypy for the Python checks, redis-server
// for the Redis session store's tests and dnsmasq for the DNS discovery tests. Each step is skipped
// when already done; every failure says exactly what is missing. Uses only Node built-ins, since it
// runs before `npm install`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const venv = path.join(root, '.venv');
const venvPython = path.join(venv, 'bin', 'python');
const pythonModules = ['grpc', 'google.protobuf', 'pytest'];
// The type checker of `npm run test:python-types` (scripts/check-python-types.mjs names the same).
const mypyRequirement = 'mypy==2.4.0';
const pipEnvironment = { ...process.env, PIP_RETRIES: process.env.PIP_RETRIES ?? '0', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
const quiet = process.argv.includes('--quiet');

function say(message) {
  if (!quiet) console.log(`[setup] ${message}`);
}

function fail(message) {
  console.error(`[setup] ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: options.capture ? 'pipe' : 'inherit', encoding: 'utf8', ...options });
  return result.status === 0 && !result.error;
}

function canImport(python, modules) {
  if (python.includes(path.sep) && !existsSync(python)) return false;
  const code = modules.map((name) => `import ${name}`).join('; ');
  return run(python, ['-c', code], { capture: true });
}

function nodeDependencies() {
  const lock = readFileSync(path.join(root, 'package-lock.json'));
  const digest = createHash('sha256').update(lock).digest('hex');
  const stamp = path.join(root, 'node_modules', '.snakepit-setup');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  say('installing Node dependencies (npm ci)');
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) fail('npm ci failed; see the output above.');
  writeFileSync(stamp, digest);
}

function build() {
  say('building packages');
  if (!run(path.join(root, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--output-logs=errors-only'], {
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  })) {
    fail('the build failed; see the output above.');
  }
}

function pythonFromPip() {
  say('creating .venv and installing grpcio, protobuf, pytest and mypy with pip');
  rmSync(venv, { recursive: true, force: true });
  if (!run('python3', ['-m', 'venv', venv])) return false;
  // Without retries a machine that cannot reach the package index fails in seconds, not minutes.
  return run(venvPython, ['-m', 'pip', 'install', '--quiet', 'grpcio', 'protobuf', 'pytest', mypyRequirement], {
    env: pipEnvironment,
  }) && canImport(venvPython, pythonModules);
}

function canUseApt() {
  return existsSync('/usr/bin/apt-get') && process.getuid?.() === 0;
}

function aptInstall(packages) {
  const options = { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  return run('apt-get', ['install', '-y', '-q', ...packages], options) ||
    (run('apt-get', ['update', '-q']) && run('apt-get', ['install', '-y', '-q', ...packages], options));
}

function pythonFromDebian() {
  const system = '/usr/bin/python3';
  if (!canImport(system, pythonModules) && canUseApt()) {
    say('pip could not install them; installing Debian packages python3-grpcio python3-protobuf python3-pytest');
    aptInstall(['python3-grpcio', 'python3-protobuf', 'python3-pytest', 'python3-venv']);
  }
  if (!canImport(system, pythonModules)) return false;
  say('using Debian\'s Python packages through .venv (--system-site-packages)');
  rmSync(venv, { recursive: true, force: true });
  return run(system, ['-m', 'venv', '--system-site-packages', '--without-pip', venv]) && canImport(venvPython, pythonModules);
}

function pythonEnvironment() {
  if (canImport(venvPython, pythonModules)) return;
  if (!run('python3', ['--version'], { capture: true })) {
    fail('python3 was not found. Install Python 3.9 or newer (e.g. `apt-get install python3 python3-venv`).');
  }
  if (pythonFromPip() || pythonFromDebian()) return;
  fail(
    'could not provide grpcio, protobuf and pytest for Python. Either make PyPI reachable and run ' +
      '`python3 -m venv .venv && .venv/bin/pip install grpcio protobuf pytest`, or install Debian\'s ' +
      '`python3-grpcio python3-protobuf python3-pytest python3-venv` and run this again.',
  );
}

// mypy is needed by the type check only, so its absence is a warning here: the check itself fails
// with the same instructions. A .venv from pip gets it from pip; one on Debian's packages
// (--system-site-packages) gets Debian's `mypy`.
function pythonTypeChecker() {
  if (canImport(venvPython, ['mypy'])) return;
  if (canImport(venvPython, ['pip'])) {
    say(`installing ${mypyRequirement} into .venv with pip`);
    if (run(venvPython, ['-m', 'pip', 'install', '--quiet', mypyRequirement], { env: pipEnvironment }) &&
      canImport(venvPython, ['mypy'])) return;
  }
  const systemSitePackages = /^include-system-site-packages\s*=\s*true\s*$/m.test(
    readFileSync(path.join(venv, 'pyvenv.cfg'), 'utf8'),
  );
  if (systemSitePackages && canUseApt()) {
    say('installing the Debian package mypy');
    if (aptInstall(['mypy']) && canImport(venvPython, ['mypy'])) return;
  }
  console.warn(
    '[setup] mypy is missing, so `npm run test:python-types` will fail until it is installed: ' +
      (systemSitePackages ? '`apt-get install mypy`' : `\`.venv/bin/python -m pip install '${mypyRequirement}'\``) + '.',
  );
}

function hasRedisServer() {
  return run(process.env.REDIS_SERVER ?? 'redis-server', ['--version'], { capture: true });
}

// The tests of @snakepit/session-store-redis (and the bench's Redis row) start a real
// redis-server; without one they fail, naming the same fix. Installed with apt where setup may
// (root on Debian), otherwise only reported, since nothing else needs it.
function redisServer() {
  if (hasRedisServer()) return;
  if (canUseApt()) {
    say('installing the Debian package redis-server (for the Redis session store tests)');
    if (aptInstall(['redis-server']) && hasRedisServer()) return;
  }
  console.warn(
    '[setup] redis-server is missing, so the tests of @snakepit/session-store-redis will fail until it is ' +
      'installed: `sudo apt-get install -y redis-server` (Debian/Ubuntu), `brew install redis` (macOS), or set ' +
      'REDIS_SERVER to the path of a redis-server binary.',
  );
}

// The tests' default too: Debian puts it in /usr/sbin, which is not on a non-root user's PATH.
function hasDnsmasq() {
  const binary = process.env.DNSMASQ ?? (existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq');
  return run(binary, ['--version'], { capture: true });
}

// The DNS discovery tests of @snakepit/adapter-python start a real dnsmasq on loopback. Debian's
// dnsmasq-base is the binary alone, without the dnsmasq package's service (which would start a DNS
// server on port 53). Installed like redis-server, otherwise only reported.
function dnsmasq() {
  if (hasDnsmasq()) return;
  if (canUseApt()) {
    say('installing the Debian package dnsmasq-base (for the DNS discovery tests)');
    if (aptInstall(['dnsmasq-base']) && hasDnsmasq()) return;
  }
  console.warn(
    '[setup] dnsmasq is missing, so the DNS discovery tests of @snakepit/adapter-python will fail until it is ' +
      'installed: `sudo apt-get install -y dnsmasq-base` (Debian/Ubuntu), `brew install dnsmasq` (macOS), or set ' +
      'DNSMASQ to the path of a dnsmasq binary.',
  );
}

nodeDependencies();
build();
pythonEnvironment();
pythonTypeChecker();
redisServer();
dnsmasq();
say('ready');
