/** A Node process killed with SIGKILL leaves no Python process behind. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { isAlive, testPython, waitUntil } from './python-under-test.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pool-owner.mjs');

it('kills every worker and grandchild within 2 s of the Node parent being SIGKILLed', async () => {
  const owner = spawn(process.execPath, [fixture, testPython, '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const report = await new Promise<{ workers: number[]; grandchild: number }>((resolve, reject) => {
    let output = '';
    owner.stdout.setEncoding('utf8');
    owner.stdout.on('data', (text: string) => {
      output += text;
      const newline = output.indexOf('\n');
      if (newline !== -1) resolve(JSON.parse(output.slice(0, newline)));
    });
    owner.once('exit', (code) => reject(new Error(`pool owner exited early (${code})`)));
  });
  const pids = [...report.workers, report.grandchild];
  expect(pids).toHaveLength(3);
  expect(pids.every(isAlive)).toBe(true);

  owner.kill('SIGKILL');
  const killedAt = Date.now();
  const allGone = await waitUntil(() => !pids.some(isAlive), 2000);
  expect(allGone).toBe(true);
  expect(Date.now() - killedAt).toBeLessThan(2000);
});
