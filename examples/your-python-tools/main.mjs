// Your own Python tools: a BaseAdapter subclass in your own package (./python/greeter), run with
// your own virtualenv when this folder has one (./.venv, see README.md), else the project's.
// Run: node examples/your-python-tools/main.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, SnakepitError } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';

const here = path.dirname(fileURLToPath(import.meta.url));
const pool = createPool({
  adapter: pythonAdapter({
    adapter: 'greeter.adapter.GreeterAdapter',
    // Where your package lives; it goes on PYTHONPATH before the bridge.
    pythonPath: [path.join(here, 'python')],
    // The interpreter search starts here: SNAKEPIT_PYTHON, an active virtualenv, then the first
    // .venv found walking up from this folder: ./.venv if you made one, else the project's.
    cwd: here,
  }),
  size: 1,
});

try {
  const python = await pool.execute('interpreter');
  console.log(`Python ${python.version} at ${python.executable}${python.virtualenv ? ` (virtualenv ${python.prefix})` : ''}`);
  console.log(await pool.execute('greet', { name: 'Ada', excited: true }));
  await pool.executeInSessionStream('demo-session', 'countdown', { start: 3 }, (chunk) => {
    console.log('countdown chunk:', JSON.stringify(chunk));
  });
  try {
    await pool.execute('greet', { nickname: 'Ada' });
  } catch (error) {
    if (SnakepitError.isInstance(error)) console.log(`refused: ${error.code} (${error.message})`);
  }
} finally {
  await pool.close();
}
