/**
 * The one interpreter search (pythonAdapter, the threaded adapter and the doctor): option,
 * SNAKEPIT_PYTHON, the active virtualenv, `.venv` walking up to the project root, python3.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findPythonInterpreter } from '../src/index.js';
import { missingGrpcHint, missingInterpreterHint } from '../src/python-setup-advice.js';

const folders: string[] = [];

afterEach(() => {
  for (const folder of folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
});

/** A temporary tree: `files` are paths relative to its root, created empty (a `/` ending makes a folder). */
function tree(files: string[]): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'snakepit-interpreter-')));
  folders.push(root);
  for (const file of files) {
    const target = path.join(root, file);
    if (file.endsWith('/')) {
      fs.mkdirSync(target, { recursive: true });
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, file.endsWith('package.json') ? '{}' : '');
    }
  }
  return root;
}

const none: NodeJS.ProcessEnv = {};

describe('findPythonInterpreter', () => {
  it('finds the .venv of the project root when started from a folder below it', () => {
    const root = tree(['.git/', '.venv/bin/python', 'examples/basic/package.json']);
    const choice = findPythonInterpreter({ cwd: path.join(root, 'examples', 'basic'), env: none });
    expect(choice).toMatchObject({ command: path.join(root, '.venv', 'bin', 'python'), source: '.venv' });
    expect(choice.reason).toBe(`.venv in ${root} (walking up from ${path.join(root, 'examples', 'basic')})`);
    expect(choice.projectRoot).toEqual({ folder: root, marker: '.git' });
  });

  it('prefers the nearest .venv', () => {
    const root = tree(['.git/', '.venv/bin/python', 'app/.venv/bin/python']);
    expect(findPythonInterpreter({ cwd: path.join(root, 'app'), env: none }).command).toBe(path.join(root, 'app', '.venv', 'bin', 'python'));
  });

  it('stops at the first folder holding .git: a .venv above the repository is not used', () => {
    const outer = tree(['.venv/bin/python', 'repo/.git/', 'repo/src/']);
    const choice = findPythonInterpreter({ cwd: path.join(outer, 'repo', 'src'), env: none });
    expect(choice.source).toBe('PATH');
    expect(choice.command).toBe('python3');
    expect(choice.projectRoot).toEqual({ folder: path.join(outer, 'repo'), marker: '.git' });
    expect(choice.searched).toContain(
      `.venv: none in ${path.join(outer, 'repo', 'src')}, ${path.join(outer, 'repo')} (the walk stops at the project root ${path.join(outer, 'repo')} (it holds .git))`,
    );
  });

  it('stops at a package.json that declares workspaces (a monorepo root without .git, e.g. an unpacked archive)', () => {
    const outer = tree(['.venv/bin/python', 'mono/packages/app/package.json']);
    fs.writeFileSync(path.join(outer, 'mono', 'package.json'), JSON.stringify({ workspaces: ['packages/*'] }));
    const choice = findPythonInterpreter({ cwd: path.join(outer, 'mono', 'packages', 'app'), env: none });
    expect(choice.source).toBe('PATH');
    expect(choice.projectRoot).toEqual({ folder: path.join(outer, 'mono'), marker: 'workspaces' });
  });

  it('without .git or workspaces: the outermost package.json is the root; without any, only the working folder', () => {
    const outer = tree(['.venv/bin/python', 'project/package.json', 'project/.venv/bin/python', 'project/tools/package.json']);
    const inProject = findPythonInterpreter({ cwd: path.join(outer, 'project', 'tools'), env: none });
    expect(inProject).toMatchObject({ command: path.join(outer, 'project', '.venv', 'bin', 'python'), source: '.venv' });
    expect(inProject.projectRoot).toEqual({ folder: path.join(outer, 'project'), marker: 'package.json' });
    const bare = tree(['.venv/bin/python', 'scripts/']);
    const loose = findPythonInterpreter({ cwd: path.join(bare, 'scripts'), env: none });
    expect(loose.source).toBe('PATH');
    expect(loose.projectRoot).toEqual({ folder: path.join(bare, 'scripts'), marker: 'working folder' });
  });

  it('ranks the option, then SNAKEPIT_PYTHON, then the active virtualenv, above .venv', () => {
    const root = tree(['.git/', '.venv/bin/python', 'active/bin/python']);
    const env = { SNAKEPIT_PYTHON: '/opt/py/bin/python3', VIRTUAL_ENV: path.join(root, 'active') };
    expect(findPythonInterpreter({ python: '/usr/bin/python3.12', cwd: root, env })).toMatchObject({ command: '/usr/bin/python3.12', source: 'option' });
    expect(findPythonInterpreter({ cwd: root, env })).toMatchObject({ command: '/opt/py/bin/python3', source: 'SNAKEPIT_PYTHON' });
    expect(findPythonInterpreter({ cwd: root, env: { VIRTUAL_ENV: env.VIRTUAL_ENV } })).toMatchObject({
      command: path.join(root, 'active', 'bin', 'python'),
      source: 'VIRTUAL_ENV',
    });
  });

  it('skips an active virtualenv whose interpreter is gone, and says so', () => {
    const root = tree(['.git/', '.venv/bin/python']);
    const choice = findPythonInterpreter({ cwd: root, env: { VIRTUAL_ENV: path.join(root, 'deleted') } });
    expect(choice.source).toBe('.venv');
    expect(choice.reason).toBe(`.venv in the working folder ${root}`);
    expect(choice.searched).toContain(`the active virtualenv: VIRTUAL_ENV=${path.join(root, 'deleted')}, but ${path.join(root, 'deleted', 'bin', 'python')} does not exist`);
  });
});

describe('startup advice', () => {
  it('a missing interpreter is told where the search looked and how to make one, not to install dependencies into it', () => {
    const root = tree(['.git/', 'app/']);
    const hint = missingInterpreterHint(findPythonInterpreter({ cwd: path.join(root, 'app'), env: none }));
    expect(hint).toContain('No Python interpreter was found');
    expect(hint).toContain(`.venv: none in ${path.join(root, 'app')}, ${root}`);
    expect(hint).toContain(`cd ${root} && python3 -m venv .venv && .venv/bin/pip install grpcio protobuf`);
    expect(hint).not.toMatch(/into that interpreter/i);
  });

  it('a missing interpreter named by SNAKEPIT_PYTHON is told to fix or unset that', () => {
    const root = tree(['.git/']);
    const hint = missingInterpreterHint(findPythonInterpreter({ cwd: root, env: { SNAKEPIT_PYTHON: '/nope/python' } }));
    expect(hint).toContain('"/nope/python" from SNAKEPIT_PYTHON does not exist or cannot be run');
    expect(hint).toContain('unset SNAKEPIT_PYTHON');
  });

  it('grpcio missing: pip into a virtualenv, a new .venv for a system interpreter', () => {
    const root = tree(['.git/', '.venv/bin/python', '.venv/pyvenv.cfg']);
    expect(missingGrpcHint(findPythonInterpreter({ cwd: root, env: none }))).toContain(
      `\`${path.join(root, '.venv', 'bin', 'python')} -m pip install grpcio protobuf\``,
    );
    const system = missingGrpcHint(findPythonInterpreter({ cwd: root, env: { SNAKEPIT_PYTHON: '/usr/bin/python3' } }));
    expect(system).toContain('/usr/bin/python3 -m venv .venv && .venv/bin/pip install grpcio protobuf');
    expect(system).toContain('unset SNAKEPIT_PYTHON');
  });
});
