/** The interpreter and adapter factory the integration tests use. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from '@snakepit/sdk/testing';
import { pythonAdapter, type PythonAdapterSettings } from '../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const testPython = process.env.SNAKEPIT_PYTHON ?? path.join(root, '.venv', 'bin', 'python');

export const showcase = 'snakepit_bridge.adapters.showcase.ShowcaseAdapter';

export function showcaseAdapter(settings: Partial<PythonAdapterSettings> = {}) {
  return pythonAdapter({ adapter: showcase, python: testPython, ...settings });
}

/** True while a process with this pid exists and is not a zombie waiting to be reaped. */
export const isAlive = isProcessAlive;

export async function waitUntil(predicate: () => boolean, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return predicate();
}
