// Streams progress from a Python worker to the terminal as a live progress bar, then makes one
// unary call. Run it with `npm run demo` from the repository root.
import { createPool } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';

const pool = createPool({
  adapter: pythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter' }),
  size: 1,
});

function bar(progress, width = 30) {
  const filled = Math.round((progress / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${progress.toFixed(0).padStart(3)}%`;
}

try {
  const startedAt = Date.now();
  await pool.ready();
  console.log(`Python worker ready in ${Date.now() - startedAt} ms`);

  for await (const chunk of pool.executeStream('stream_progress', { steps: 20, delay_ms: 60 })) {
    const line = `${bar(chunk.progress)}  ${chunk.message}`;
    if (process.stdout.isTTY) process.stdout.write(`\r${line}`);
    else console.log(line);
    if (chunk.is_final && process.stdout.isTTY) process.stdout.write('\n');
  }

  const sum = await pool.execute('add', { a: 40, b: 2 });
  console.log(`add(40, 2) computed in Python = ${sum}`);
} finally {
  await pool.close();
}
