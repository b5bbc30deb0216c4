/**
 * Every example in examples/ runs as its README says and prints what it promises. The HTTP service
 * is started, asked for its event stream, and stopped; the own-virtualenv story is played through
 * in a scratch copy of its folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { testPython } from './python-under-test.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const examplesFolder = path.join(root, 'examples');

function startExample(script: string, env: NodeJS.ProcessEnv = { ...process.env, SNAKEPIT_PYTHON: testPython }): ChildProcess {
  return spawn(process.execPath, [script], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function runExample(script: string, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = startExample(script, env);
    let output = '';
    child.stdout!.on('data', (text: Buffer) => (output += text.toString()));
    child.stderr!.on('data', (text: Buffer) => (output += text.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function expectClean(output: string): void {
  expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // no stack trace
}

const expectations: Record<string, RegExp[]> = {
  'basic-call': [/add\(40, 2\) = 42/, /"coupon":null,"note":"thé ✓"/, /bytes back: a Uint8Array \[0, 1, 254, 255\]/, /python_error KeyError: 'no such order'/],
  'stream-progress': [/100%\s+Processing step 20\/20/, /add\(40, 2\) computed in Python = 42/],
  'sessions-and-state': [/cart seen from Node: \[\{"sku":"tea","quantity":2\}\]/, /coupon seen from Python: WELCOME10/, /session id seen by Python: alice/],
  'host-tools': [/askedBy: 'bob'/, /python_error .*HostToolError: no price for cake/],
  'cancellation-and-timeouts': [
    /1\. a deadline: timeout .* after \d+ ms/,
    /2\. an AbortSignal: aborted .* after \d+ ms/,
    /Python saw cancellations: 2/,
    /its generator: \{"produced":3,"closed":true\}/,
    /4\. no free worker in time: queue_timeout/,
    /still served by the same Python process: true, add\(1, 2\) = 3/,
  ],
  threaded: [/4 x 300 ms sleeps on one worker took \d+ ms/, /capacity 4, calls served 4/],
  'your-python-tools': [/Python \d+\.\d+\.\d+ at /, /Hello, Ada!/, /"remaining":0,"is_final":true/, /refused: invalid_parameter/],
  'custom-adapter-node': [
    /Hello, Ada, from Node v\d+/,
    /countdown chunk: \{"remaining":0,"is_final":true\}/,
    /quote via a host tool: \{"sku":"tea","price":4.5,"with_tax":5.4\}/,
    /session state: \{"session":"ada","visits":2\}/,
    /refused: invalid_parameter/,
  ],
};

/** Examples that serve until stopped; tested below instead of run to completion. */
const services = new Set(['http-sse']);
/** TypeScript examples: compiled, then run; tested below. */
const compiled = new Set(['typed-tools']);

it('has a test for every example folder', () => {
  const folders = readdirSync(examplesFolder, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  expect(folders.filter((folder) => !(folder in expectations) && !services.has(folder) && !compiled.has(folder))).toEqual([]);
});

for (const [folder, patterns] of Object.entries(expectations)) {
  it(`runs examples/${folder}`, async () => {
    const { code, output } = await runExample(path.join(examplesFolder, folder, 'main.mjs'));
    expectClean(output);
    for (const pattern of patterns) expect(output).toMatch(pattern);
    expect(code).toBe(0);
  });
}

it('runs examples/your-python-tools on its own virtualenv (README steps, in a scratch copy)', async () => {
  const scratchRoot = path.join(root, '.scratch');
  mkdirSync(scratchRoot, { recursive: true });
  const scratch = mkdtempSync(path.join(scratchRoot, 'examples-'));
  try {
    const folder = path.join(scratch, 'your-python-tools');
    cpSync(path.join(examplesFolder, 'your-python-tools'), folder, {
      recursive: true,
      filter: (source) => !source.includes('__pycache__') && path.basename(source) !== '.venv',
    });
    const venv = path.join(folder, '.venv');
    const pip = { encoding: 'utf8' as const, env: { ...process.env, PIP_RETRIES: '0', PIP_DISABLE_PIP_VERSION_CHECK: '1' } };
    const made = spawnSync(testPython, ['-m', 'venv', venv], pip);
    expect(made.stderr).toBe('');
    const installed = spawnSync(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '-r', path.join(folder, 'requirements.txt')], pip);
    expect(installed.status, installed.stderr).toBe(0);
    expect(existsSync(path.join(venv, 'bin', 'python'))).toBe(true);

    // No SNAKEPIT_PYTHON: the example's own search must find ./.venv.
    const env = { ...process.env };
    delete env.SNAKEPIT_PYTHON;
    delete env.VIRTUAL_ENV;
    const { code, output } = await runExample(path.join(folder, 'main.mjs'), env);
    expectClean(output);
    expect(output).toContain(`(virtualenv ${venv})`);
    expect(output).toMatch(/Hello, Ada!/);
    expect(code).toBe(0);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    try {
      rmdirSync(scratchRoot); // only when nothing else uses it
    } catch {
      // not empty
    }
  }
}, 120_000);

it('examples/typed-tools: its generated src/tools.ts is current, main.ts type-checks (wrong calls included), and it runs', async () => {
  const folder = path.join(examplesFolder, 'typed-tools');
  const cli = path.join(root, 'packages', 'adapter-python', 'dist', 'cli.js');
  const env = { ...process.env, SNAKEPIT_PYTHON: testPython, NO_COLOR: '1' };
  // The command of the file's header (and of its package.json script), with --check: regenerates and compares.
  const check = spawnSync(
    process.execPath,
    [cli, 'types', '--adapter', 'bookshop.adapter.BookshopAdapter', '--python-path', 'python', '--out', 'src/tools.ts', '--check'],
    { cwd: folder, env, encoding: 'utf8' },
  );
  expect(check.stderr).toBe('');
  expect(check.stdout).toContain('✓ src/tools.ts is up to date (5 tools of bookshop.adapter.BookshopAdapter)');
  expect(check.status).toBe(0);

  // tsc fails on any error, and on a @ts-expect-error line that is not one.
  const compile = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', folder], { encoding: 'utf8' });
  expect(compile.stdout + compile.stderr).toBe('');
  expect(compile.status).toBe(0);

  const { code, output } = await runExample(path.join(folder, 'dist', 'main.js'));
  expectClean(output);
  for (const pattern of [
    /fiction with "the": The Left Hand of Darkness \(1969\), The Dispossessed \(1974\)/,
    /cover bytes: 6/,
    /^ {4}history: 1 book\(s\)$/m,
    /tags: \{"book":"4","format":"paperback","mood":"calm"\}/,
    /read page 2: The Left Hand of Darkness, page 2/,
    /refused before Python: invalid_parameter: .*"limit": must be integer, got a string/,
  ]) {
    expect(output).toMatch(pattern);
  }
  expect(code).toBe(0);
});

interface ServerSentEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

function parseEvents(text: string): ServerSentEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
      return { id: fields.id!, event: fields.event!, data: JSON.parse(fields.data!) as Record<string, unknown> };
    });
}

it('serves examples/http-sse: progress as Server-Sent Events, in order, ending with done', async () => {
  const child = startExample(path.join(examplesFolder, 'http-sse', 'main.mjs'), { ...process.env, SNAKEPIT_PYTHON: testPython, PORT: '0' });
  let output = '';
  child.stderr!.on('data', (text: Buffer) => (output += text.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (text: Buffer) => {
        output += text.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      void exited.then((code) => reject(new Error(`the server exited with ${code} before listening:\n${output}`)));
    });

    const response = await fetch(`${url}/progress?steps=5&delay_ms=30`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    // Read as it arrives: the first event must come before the stream is over.
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    let eventsBeforeEnd = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
      if (!text.includes('event: done')) eventsBeforeEnd = parseEvents(text.slice(0, text.lastIndexOf('\n\n') + 1)).length;
    }
    expect(eventsBeforeEnd).toBeGreaterThan(0);
    const events = parseEvents(text);
    expect(events.map((event) => event.id)).toEqual(['1', '2', '3', '4', '5']);
    expect(events.map((event) => event.event)).toEqual(['progress', 'progress', 'progress', 'progress', 'done']);
    expect(events.map((event) => event.data.step)).toEqual([1, 2, 3, 4, 5]);
    expect(events.at(-1)!.data).toEqual({ step: 5, total: 5, progress: 100, message: 'Processing step 5/5' });

    expect(await (await fetch(`${url}/add?a=40&b=2`)).json()).toEqual({ sum: 42 });
    expect((await fetch(`${url}/progress?steps=0`)).status).toBe(400);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(output).toContain('stopped');
  expectClean(output);
});
