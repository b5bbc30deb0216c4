/** Where the bench's Python lives and which interpreter runs it (the same for every peer). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repositoryRoot = path.dirname(benchDirectory);
/** bench/python: the adapter, the stdio loop and the bare grpcio server. */
export const benchPythonDirectory = path.join(benchDirectory, 'python');

/** `SNAKEPIT_PYTHON` if set, else the repository's .venv (made by scripts/setup.mjs), else python3. */
export function pythonCommand() {
  if (process.env.SNAKEPIT_PYTHON) return process.env.SNAKEPIT_PYTHON;
  const local = path.join(repositoryRoot, '.venv', 'bin', 'python');
  return existsSync(local) ? local : 'python3';
}
