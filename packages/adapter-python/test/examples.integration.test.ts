/** Every example in examples/ runs to completion and prints what it promises. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { testPython } from './python-under-test.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function runExample(folder: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'examples', folder, 'main.mjs')], {
      cwd: root,
      env: { ...process.env, SNAKEPIT_PYTHON: testPython },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (text: Buffer) => (output += text.toString()));
    child.stderr.on('data', (text: Buffer) => (output += text.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const expectations: Record<string, RegExp[]> = {
  'stream-progress': [/100%\s+Processing step 20\/20/, /add\(40, 2\) computed in Python = 42/],
  'sessions-and-state': [/cart seen from Node: \[\{"sku":"tea","quantity":2\}\]/, /coupon seen from Python: WELCOME10/, /session id seen by Python: alice/],
  'host-tools': [/askedBy: 'bob'/, /python_error .*HostToolError: no price for cake/],
  threaded: [/4 x 300 ms sleeps on one worker took \d+ ms/, /capacity 4, calls served 4/],
  'your-python-tools': [/Hello, Ada!/, /"remaining":0,"is_final":true/, /refused: invalid_parameter/],
};

for (const [folder, patterns] of Object.entries(expectations)) {
  it(`runs examples/${folder}`, async () => {
    const { code, output } = await runExample(folder);
    expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // no stack trace
    for (const pattern of patterns) expect(output).toMatch(pattern);
    expect(code).toBe(0);
  });
}
