/**
 * Which Python runs the workers, and why. One search, shared by `pythonAdapter`, the threaded
 * adapter and `npx snakepit doctor`:
 *
 * 1. the `python` option;
 * 2. `SNAKEPIT_PYTHON`;
 * 3. the active virtualenv (`VIRTUAL_ENV`), when its interpreter exists;
 * 4. a `.venv` folder in the working folder or a folder above it, up to the project root;
 * 5. `python3` on `PATH` (`python` on Windows).
 *
 * The project root is the nearest folder (the working folder included) that holds `.git` or a
 * `package.json` declaring `workspaces`; without one, the outermost folder with a `package.json`;
 * without any, the working folder itself. The walk never goes above the home folder. So
 * `examples/x/` of a repository finds the repository's `.venv`, and a project never picks up a
 * `.venv` that belongs to something else (`/tmp/.venv`, `~/.venv`).
 *
 * The choice remembers every place it looked, so an error can say where.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type InterpreterSource = 'option' | 'SNAKEPIT_PYTHON' | 'VIRTUAL_ENV' | '.venv' | 'PATH';

/** Why a folder is the project root, where the walk for `.venv` stops. */
export type ProjectRootMarker = '.git' | 'workspaces' | 'package.json' | 'working folder';

export interface ProjectRoot {
  folder: string;
  marker: ProjectRootMarker;
}

export interface InterpreterChoice {
  /** What is spawned: a path, or a name looked up on PATH. */
  command: string;
  /** Where the choice came from. */
  source: InterpreterSource;
  /** Why this interpreter, as a phrase: `.venv in /repo (walking up from /repo/examples/basic)`. */
  reason: string;
  /** Every step of the search up to the choice, in order, with what it found. */
  searched: string[];
  /** The folder where the `.venv` walk stops, and why (also when the walk was not needed). */
  projectRoot: ProjectRoot;
  /** The working folder the search started from. */
  cwd: string;
}

export interface InterpreterSearch {
  /** The `python` option; wins when set. */
  python?: string | undefined;
  /** Where the `.venv` walk starts. Default: process.cwd(). */
  cwd?: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

const isWindows = process.platform === 'win32';

/** The name tried on PATH when nothing else is found. */
export const pathPython = isWindows ? 'python' : 'python3';

/** The interpreter inside a virtualenv folder. */
export function venvPython(folder: string): string {
  return isWindows ? path.join(folder, 'Scripts', 'python.exe') : path.join(folder, 'bin', 'python');
}

/** True when `command` is a path to the interpreter of a virtualenv (`<venv>/bin/python` next to `<venv>/pyvenv.cfg`). */
export function isVirtualenvPython(command: string): boolean {
  if (!command.includes('/') && !command.includes(path.sep)) return false;
  return existsSync(path.join(path.dirname(path.dirname(path.resolve(command))), 'pyvenv.cfg'));
}

function declaresWorkspaces(folder: string): boolean {
  const manifest = path.join(folder, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown };
    return parsed.workspaces !== undefined;
  } catch {
    return false;
  }
}

/** The folders the `.venv` walk visits from `cwd`, the last one being the project root. */
export function projectFolders(cwd: string): { folders: string[]; root: ProjectRoot } {
  const start = path.resolve(cwd);
  const home = path.resolve(os.homedir());
  const ancestors: string[] = [];
  for (let folder = start; ; folder = path.dirname(folder)) {
    ancestors.push(folder);
    if (folder === home || path.dirname(folder) === folder) break;
  }
  const marked = ancestors.findIndex((folder) => existsSync(path.join(folder, '.git')) || declaresWorkspaces(folder));
  if (marked !== -1) {
    const folder = ancestors[marked]!;
    return { folders: ancestors.slice(0, marked + 1), root: { folder, marker: existsSync(path.join(folder, '.git')) ? '.git' : 'workspaces' } };
  }
  let outermostPackage = -1;
  ancestors.forEach((folder, index) => {
    if (existsSync(path.join(folder, 'package.json'))) outermostPackage = index;
  });
  if (outermostPackage !== -1) {
    return { folders: ancestors.slice(0, outermostPackage + 1), root: { folder: ancestors[outermostPackage]!, marker: 'package.json' } };
  }
  return { folders: [start], root: { folder: start, marker: 'working folder' } };
}

/** Where the `.venv` walk stops, as a phrase: "the project root /repo (it holds .git)". */
export function describeProjectRoot(root: ProjectRoot): string {
  switch (root.marker) {
    case '.git':
      return `the project root ${root.folder} (it holds .git)`;
    case 'workspaces':
      return `the project root ${root.folder} (its package.json declares workspaces)`;
    case 'package.json':
      return `the project root ${root.folder} (the outermost folder with a package.json)`;
    default:
      return `the working folder ${root.folder} (no .git or package.json above it)`;
  }
}

export function findPythonInterpreter(search: InterpreterSearch = {}): InterpreterChoice {
  const env = search.env ?? process.env;
  const cwd = path.resolve(search.cwd ?? process.cwd());
  const { folders, root } = projectFolders(cwd);
  const searched: string[] = [];
  const choose = (command: string, source: InterpreterSource, reason: string): InterpreterChoice => ({
    command,
    source,
    reason,
    searched,
    projectRoot: root,
    cwd,
  });

  if (search.python) {
    searched.push(`the python option: ${search.python}`);
    return choose(search.python, 'option', 'the python option');
  }
  searched.push('the python option: not set');
  if (env.SNAKEPIT_PYTHON) {
    searched.push(`SNAKEPIT_PYTHON: ${env.SNAKEPIT_PYTHON}`);
    return choose(env.SNAKEPIT_PYTHON, 'SNAKEPIT_PYTHON', 'SNAKEPIT_PYTHON');
  }
  searched.push('SNAKEPIT_PYTHON: not set');
  if (env.VIRTUAL_ENV) {
    const candidate = venvPython(env.VIRTUAL_ENV);
    if (existsSync(candidate)) {
      searched.push(`the active virtualenv: ${env.VIRTUAL_ENV}`);
      return choose(candidate, 'VIRTUAL_ENV', `the active virtualenv (VIRTUAL_ENV=${env.VIRTUAL_ENV})`);
    }
    searched.push(`the active virtualenv: VIRTUAL_ENV=${env.VIRTUAL_ENV}, but ${candidate} does not exist`);
  } else {
    searched.push('the active virtualenv: none (VIRTUAL_ENV not set)');
  }
  for (const folder of folders) {
    const candidate = venvPython(path.join(folder, '.venv'));
    if (existsSync(candidate)) {
      searched.push(`.venv: found in ${folder}`);
      const where = folder === cwd ? `.venv in the working folder ${folder}` : `.venv in ${folder} (walking up from ${cwd})`;
      return choose(candidate, '.venv', where);
    }
  }
  searched.push(`.venv: none in ${folders.join(', ')} (the walk stops at ${describeProjectRoot(root)})`);
  searched.push(`${pathPython} on PATH`);
  return choose(pathPython, 'PATH', `${pathPython} on PATH, since nothing else was found`);
}

/**
 * The search in its earlier form: `choosePythonInterpreter(option, cwd, env)`.
 * @deprecated use `findPythonInterpreter({ python, cwd, env })`.
 */
export function choosePythonInterpreter(option: string | undefined, cwd: string, env: NodeJS.ProcessEnv = process.env): InterpreterChoice {
  return findPythonInterpreter({ python: option, cwd, env });
}
