/**
 * What `pool.ready()` says when the Python side is not there: where the interpreter search looked,
 * and the command that fixes it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool, SnakepitError, type Pool } from '@snakepit/sdk';
import { pythonAdapter } from '../src/index.js';
import { showcase, testPython } from './python-under-test.js';

const pools: Pool[] = [];
const folders: string[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ force: true, timeoutMs: 2_000 })));
});

afterAll(() => {
  for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
});

function temporaryFolder(): string {
  const folder = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'snakepit-startup-')));
  folders.push(folder);
  return folder;
}

async function startupError(adapter: ReturnType<typeof pythonAdapter>): Promise<SnakepitError> {
  const pool = createPool({ adapter, size: 1, startupTimeoutMs: 20_000, workerOutput: 'ignore' });
  pools.push(pool);
  try {
    await pool.ready();
  } catch (error) {
    if (SnakepitError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected ready() to reject');
}

/** Runs `work` with SNAKEPIT_PYTHON and VIRTUAL_ENV unset, as on a machine without either. */
function withoutPythonSettings<T>(work: () => T): T {
  const saved = { SNAKEPIT_PYTHON: process.env.SNAKEPIT_PYTHON, VIRTUAL_ENV: process.env.VIRTUAL_ENV };
  delete process.env.SNAKEPIT_PYTHON;
  delete process.env.VIRTUAL_ENV;
  try {
    return work();
  } finally {
    for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
  }
}

describe('a missing interpreter', () => {
  it('from the python option: says so, and how to fix it', async () => {
    const error = await startupError(pythonAdapter({ adapter: showcase, python: '/no/such/python3' }));
    expect(error.code).toBe('startup_failed');
    expect(error.message).toContain('could not start "/no/such/python3"');
    expect(error.message).toContain('"/no/such/python3" from the python option does not exist or cannot be run');
    expect(error.message).toContain('npx snakepit doctor');
    expect(error.message).not.toMatch(/install the Python dependencies into that interpreter/i);
  });

  it('found by the search: says every place it looked and the command that makes a .venv', async () => {
    const project = temporaryFolder();
    fs.mkdirSync(path.join(project, '.git'));
    fs.mkdirSync(path.join(project, 'app'));
    const emptyPath = temporaryFolder();
    const adapter = withoutPythonSettings(() => pythonAdapter({ adapter: showcase, cwd: path.join(project, 'app'), env: { PATH: emptyPath } }));
    const error = await startupError(adapter);
    expect(error.message).toContain('No Python interpreter was found');
    expect(error.message).toContain('SNAKEPIT_PYTHON: not set');
    expect(error.message).toContain(`.venv: none in ${path.join(project, 'app')}, ${project}`);
    expect(error.message).toContain(`cd ${project} && python3 -m venv .venv && .venv/bin/pip install grpcio protobuf`);
  });
});

describe('an interpreter without grpcio', () => {
  let bareVenv: string;

  beforeAll(() => {
    bareVenv = path.join(temporaryFolder(), 'bare-venv');
    // The base interpreter of the test venv, so the new one has Python but no packages at all.
    const made = spawnSync(testPython, ['-m', 'venv', '--without-pip', bareVenv], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`could not make a virtualenv for the test: ${made.stderr}`);
  });

  it('names the interpreter, why it was chosen, and the pip command for it', async () => {
    const python = path.join(bareVenv, 'bin', 'python');
    const error = await startupError(pythonAdapter({ adapter: showcase, python }));
    expect(error.code).toBe('startup_failed');
    expect(error.message).toContain(`The interpreter is ${python}, chosen from the python option`);
    expect(error.message).toContain(`\`${python} -m pip install grpcio protobuf\``);
    expect(error.details.hint).toEqual(expect.stringContaining('Give it grpcio and protobuf'));
    // The hint comes right after the first line, before the quoted stderr of the worker.
    expect(error.message.split('\n')[0]).toContain('Give it grpcio and protobuf');
  });
});
