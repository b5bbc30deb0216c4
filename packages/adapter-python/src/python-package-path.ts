/** The folder holding the `snakepit_bridge` Python package shipped inside this npm package. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/index.js (and src/*.ts under tests) sit one folder below the package root.
export const pythonPackageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'python');
