/**
 * `snakepit doctor`, run as a user runs it: the built bin in a child process, its output and its
 * exit code. (The bin is dist/cli.js: `turbo run test` builds first.)
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPython } from './python-under-test.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repositoryRoot = path.resolve(packageRoot, '..', '..');
const cli = path.join(packageRoot, 'dist', 'cli.js');
const folders: string[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a user with no Python settings, plus `env`. */
function userEnvironment(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete base.SNAKEPIT_PYTHON;
  delete base.VIRTUAL_ENV;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

function doctor(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd ?? repositoryRoot, env: userEnvironment(options.env ?? {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function temporaryFolder(): string {
  const folder = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'snakepit-doctor-')));
  folders.push(folder);
  return folder;
}

/** Lines starting with a check mark, as [mark, label]. */
function marks(output: string): Array<[string, string]> {
  return output
    .split('\n')
    .map((line) => /^([✓✗-]) (\S+)/.exec(line))
    .filter((match) => match !== null)
    .map((match) => [match[1]!, match[2]!]);
}

/** A Python without grpcio at /usr/bin/python3, as on a fresh Debian or Ubuntu; absent elsewhere. */
const systemPythonWithoutGrpc =
  fs.existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import grpc'], { stdio: 'ignore' }).status !== 0;

const hasRepositoryVenv = fs.existsSync(path.join(repositoryRoot, '.venv', 'bin', 'python'));

beforeAll(() => {
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: build the package first (npm run build)`);
});

afterAll(() => {
  for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
});

describe('snakepit doctor', () => {
  it('is all green in this repository and exits 0', async () => {
    const run = await doctor(['doctor'], { env: { SNAKEPIT_PYTHON: process.env.SNAKEPIT_PYTHON } });
    expect(run.stdout).not.toContain('✗');
    expect(marks(run.stdout)).toEqual([
      ['✓', 'interpreter'],
      ['✓', 'python'],
      ['✓', 'grpcio'],
      ['✓', 'protobuf'],
      ['-', 'adapter'],
      ['✓', 'worker'],
    ]);
    expect(run.stdout).toMatch(/✓ grpcio +\d+\.\d+/);
    expect(run.stdout).toMatch(/✓ worker +started snakepit_bridge\.adapters\.showcase\.ShowcaseAdapter in \d+ ms and it answered a ping/);
    expect(run.stdout).toContain('All checks passed.');
    expect(run.code).toBe(0);
  });

  it.skipIf(!hasRepositoryVenv)('finds the .venv of the repository from a folder below it, and says why', async () => {
    const run = await doctor(['doctor'], { cwd: path.join(repositoryRoot, 'packages', 'adapter-python', 'test') });
    expect(run.stdout).toContain(`✓ interpreter  ${path.join(repositoryRoot, '.venv', 'bin', 'python')}`);
    expect(run.stdout).toContain(`chosen from .venv in ${repositoryRoot} (walking up from ${path.join(packageRoot, 'test')})`);
    expect(run.code).toBe(0);
  });

  it.skipIf(!systemPythonWithoutGrpc)('SNAKEPIT_PYTHON=/usr/bin/python3 (no grpcio): exits 1 and names the command that fixes it', async () => {
    const run = await doctor(['doctor'], { env: { SNAKEPIT_PYTHON: '/usr/bin/python3' } });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('chosen from SNAKEPIT_PYTHON');
    expect(run.stdout).toMatch(/✗ grpcio +not installed in \/usr\/bin\/python3/);
    expect(run.stdout).toContain('fix: /usr/bin/python3 -m venv .venv && .venv/bin/pip install grpcio protobuf');
    expect(run.stdout).toContain('then unset SNAKEPIT_PYTHON');
    expect(run.stdout).toMatch(/- worker +not checked: fix the lines above first/);
  });

  it('an interpreter without grpcio in a virtualenv: pip into that virtualenv', async () => {
    const venv = path.join(temporaryFolder(), 'bare');
    expect(spawnSync(testPython, ['-m', 'venv', '--without-pip', venv]).status).toBe(0);
    const python = path.join(venv, 'bin', 'python');
    const run = await doctor(['doctor', '--python', python]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('chosen from --python');
    expect(run.stdout).toMatch(/✓ python +3\.\d+\.\d+ \(cpython, virtualenv\)/);
    expect(run.stdout).toContain(`fix: ${python} -m pip install grpcio protobuf`);
  });

  it('a missing interpreter: the interpreter line fails, what depends on it is not checked', async () => {
    const run = await doctor(['doctor'], { env: { SNAKEPIT_PYTHON: '/no/such/python3' } });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ interpreter  /no/such/python3 cannot be run (ENOENT); it comes from SNAKEPIT_PYTHON');
    expect(run.stdout).toContain('fix: unset SNAKEPIT_PYTHON');
    expect(marks(run.stdout).map(([mark]) => mark)).toEqual(['✗', '-', '-', '-', '-', '-']);
  });

  describe('--adapter', () => {
    let project: string;

    beforeAll(() => {
      project = temporaryFolder();
      fs.mkdirSync(path.join(project, 'python', 'my_tools'), { recursive: true });
      fs.writeFileSync(path.join(project, 'python', 'my_tools', '__init__.py'), '');
      fs.writeFileSync(
        path.join(project, 'python', 'my_tools', 'adapter.py'),
        [
          'from snakepit_bridge import BaseAdapter, tool',
          '',
          'class MyAdapter(BaseAdapter):',
          '    @tool(description="Greets")',
          '    def greet(self, name: str) -> str:',
          '        return "Hello, " + name',
          '',
        ].join('\n'),
      );
      fs.writeFileSync(path.join(project, 'python', 'my_tools', 'needs_numpyish.py'), 'import surely_not_installed_module\n');
      fs.writeFileSync(
        path.join(project, 'python', 'my_tools', 'broken.py'),
        ['from snakepit_bridge import BaseAdapter', '', 'class Broken(BaseAdapter):', '    def initialize(self) -> None:', '        raise RuntimeError("no model file")', ''].join('\n'),
      );
    });

    it('imports and starts the adapter found with --python-path', async () => {
      const run = await doctor(['doctor', '--python', testPython, '--adapter', 'my_tools.adapter.MyAdapter', '--python-path', './python'], { cwd: project });
      expect(run.stdout).toMatch(/✓ adapter +my_tools\.adapter\.MyAdapter imports \(.*my_tools\/adapter\.py\)/);
      expect(run.stdout).toMatch(/✓ worker +started my_tools\.adapter\.MyAdapter in \d+ ms/);
      expect(run.code).toBe(0);
    });

    it('without --python-path: says Python cannot find it and the exact command with the folder that holds it', async () => {
      const run = await doctor(['doctor', '--python', testPython, '--adapter', 'my_tools.adapter.MyAdapter'], { cwd: project });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('✗ adapter      Python cannot find my_tools (no --python-path was given)');
      expect(run.stdout).toContain('fix: npx snakepit doctor --adapter my_tools.adapter.MyAdapter --python-path ./python');
      expect(run.stdout).toMatch(/- worker +not checked/);
    });

    it('an adapter that imports but fails to start: the worker line fails (the doctor does not end early)', async () => {
      const run = await doctor(['doctor', '--python', testPython, '--adapter', 'my_tools.broken.Broken', '--python-path', './python'], { cwd: project });
      expect(run.stdout).toMatch(/✓ adapter +my_tools\.broken\.Broken imports/);
      expect(run.stdout).toContain('✗ worker       my_tools.broken.Broken did not start: worker doctor failed to start: RuntimeError: no model file');
      expect(run.stdout).toContain('1 check failed.');
      expect(run.code).toBe(1);
    });

    it('a missing dependency of the adapter, and a class name that does not exist', async () => {
      const dependency = await doctor(
        ['doctor', '--python', testPython, '--adapter', 'my_tools.needs_numpyish.Adapter', '--python-path', './python'],
        { cwd: project },
      );
      expect(dependency.code).toBe(1);
      expect(dependency.stdout).toContain("importing my_tools.needs_numpyish raised ModuleNotFoundError: No module named 'surely_not_installed_module'");
      expect(dependency.stdout).toContain(`fix: ${testPython} -m pip install surely_not_installed_module`);

      const typo = await doctor(['doctor', '--python', testPython, '--adapter', 'my_tools.adapter.MyAdaptr', '--python-path', './python'], { cwd: project });
      expect(typo.code).toBe(1);
      expect(typo.stdout).toMatch(/✗ adapter +my_tools\.adapter imports .* but has no class MyAdaptr/);
    });
  });

  describe('the command line', () => {
    it('--help lists the options; a mistake exits 2 with the usage', async () => {
      const help = await doctor(['doctor', '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--python-path DIR');
      const unknown = await doctor(['doctor', '--pyhton', 'x']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown option --pyhton');
      const missingValue = await doctor(['doctor', '--adapter']);
      expect(missingValue.code).toBe(2);
      expect(missingValue.stderr).toContain('--adapter needs a value');
    });

    it('an unknown command exits 2 and lists the commands', async () => {
      const run = await doctor(['doctr']);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('unknown command "doctr"');
      expect(run.stderr).toMatch(/doctor +checks the Python interpreter/);
    });
  });
});
