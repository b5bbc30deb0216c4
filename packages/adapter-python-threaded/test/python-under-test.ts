/** The interpreter and adapter class the integration tests use. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const testPython = process.env.SNAKEPIT_PYTHON ?? path.join(root, '.venv', 'bin', 'python');

export const threadedShowcase = 'snakepit_bridge.adapters.showcase_threaded.ThreadedShowcaseAdapter';
