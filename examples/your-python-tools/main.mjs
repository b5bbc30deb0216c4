// Your own Python tools (a BaseAdapter subclass in your package): point `pythonPath` at its folder and name the class.
// Run: node examples/your-python-tools/main.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, SnakepitError } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';

const here = path.dirname(fileURLToPath(import.meta.url));
const pool = createPool({
  adapter: pythonAdapter({ adapter: 'greeter.adapter.GreeterAdapter', pythonPath: [path.join(here, 'python')] }),
  size: 1,
});

try {
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
