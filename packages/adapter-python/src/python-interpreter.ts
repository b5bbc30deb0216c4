/**
 * Which Python runs the workers: the `python` option, then `SNAKEPIT_PYTHON`, then the active
 * virtualenv, then `./.venv` in the working folder, then `python3` on PATH.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface InterpreterChoice {
  command: string;
  /** Where the choice came from, for error messages. */
  source: 'option' | 'SNAKEPIT_PYTHON' | 'VIRTUAL_ENV' | '.venv' | 'PATH';
}

function venvPython(folder: string): string {
  return process.platform === 'win32' ? path.join(folder, 'Scripts', 'python.exe') : path.join(folder, 'bin', 'python');
}

export function choosePythonInterpreter(
  option: string | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): InterpreterChoice {
  if (option) return { command: option, source: 'option' };
  if (env.SNAKEPIT_PYTHON) return { command: env.SNAKEPIT_PYTHON, source: 'SNAKEPIT_PYTHON' };
  if (env.VIRTUAL_ENV) {
    const candidate = venvPython(env.VIRTUAL_ENV);
    if (existsSync(candidate)) return { command: candidate, source: 'VIRTUAL_ENV' };
  }
  const local = venvPython(path.join(cwd, '.venv'));
  if (existsSync(local)) return { command: local, source: '.venv' };
  return { command: 'python3', source: 'PATH' };
}
