/**
 * `snakepit types`, run as a user runs it (the built bin in a child process) against real Python
 * workers: the checked-in module for the showcase adapter is current (this is what keeps it so),
 * a fresh run writes it, `--check` passes on a current file and fails on a stale or missing one
 * naming the command to run, and a worker that cannot start gets the doctor's advice. The module
 * is then used as a user would: `createPool<Tools>()` with `argumentSchemas: toolSchemas`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, SnakepitError } from '@snakepit/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolSchemas, type Progress, type Tools } from './fixtures/showcase-tools.js';
import { showcase, showcaseAdapter, testPython } from './python-under-test.js';
import { makeTlsFixture } from './support/tls-certificates.js';
import { startWorkerService } from './support/worker-service.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(packageRoot, 'dist', 'cli.js');
const fixture = 'test/fixtures/showcase-tools.ts';
const folders: string[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function types(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = options.env ?? { ...process.env, SNAKEPIT_PYTHON: testPython };
    const child = spawn(process.execPath, [cli, 'types', ...args], { cwd: options.cwd ?? packageRoot, env: { ...env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function temporaryFolder(): string {
  const folder = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'snakepit-types-')));
  folders.push(folder);
  return folder;
}

/** The module without its header, which names the --out path. */
function body(text: string): string {
  return text.slice(text.indexOf('\n\n'));
}

beforeAll(() => {
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: build the package first (npm run build)`);
});

afterAll(() => {
  for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
});

describe('snakepit types', () => {
  it(`keeps ${fixture} current (the showcase adapter's module)`, async () => {
    const run = await types(['--adapter', showcase, '--out', fixture, '--check']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(new RegExp(`✓ ${fixture} is up to date \\(\\d+ tools of ${showcase.replaceAll('.', '\\.')}\\)`));
    expect(run.code).toBe(0);
  });

  it('writes the module, then --check passes on it, fails when it is stale or missing, and names the command', async () => {
    const folder = temporaryFolder();
    const written = await types(['--adapter', showcase, '--out', 'src/tools.ts'], { cwd: folder });
    expect(written.stderr).toBe('');
    expect(written.stdout).toMatch(/^wrote src\/tools\.ts: \d+ tools of snakepit_bridge\.adapters\.showcase\.ShowcaseAdapter/);
    expect(written.code).toBe(0);
    const file = path.join(folder, 'src', 'tools.ts');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain(`//   npx snakepit types --adapter ${showcase} --out src/tools.ts\n`);
    expect(body(text)).toBe(body(fs.readFileSync(path.join(packageRoot, fixture), 'utf8')));

    expect((await types(['--adapter', showcase, '--out', 'src/tools.ts', '--check'], { cwd: folder })).code).toBe(0);

    fs.writeFileSync(file, text.replace('result: number;', 'result: string;'));
    const stale = await types(['--adapter', showcase, '--out', 'src/tools.ts', '--check', '--python', testPython], { cwd: folder });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/✗ src\/tools\.ts is stale \(first difference at line \d+\)/);
    expect(stale.stderr).toContain(`fix: npx snakepit types --adapter ${showcase} --python ${testPython} --out src/tools.ts`);
    expect(fs.readFileSync(file, 'utf8')).not.toBe(text); // --check writes nothing

    fs.rmSync(file);
    const missing = await types(['--adapter', showcase, '--out', 'src/tools.ts', '--check'], { cwd: folder });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('✗ src/tools.ts does not exist');
    expect(fs.existsSync(file)).toBe(false);
  });

  it("gives the doctor's advice when the adapter cannot be imported", async () => {
    const folder = temporaryFolder();
    fs.mkdirSync(path.join(folder, 'python', 'shop'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'python', 'shop', '__init__.py'), '');
    const run = await types(['--adapter', 'shop.tools.ShopAdapter', '--out', 'tools.ts'], { cwd: folder });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('could not read the tools of shop.tools.ShopAdapter');
    expect(run.stderr).toContain('✗ adapter      Python cannot find shop (no --python-path was given)');
    expect(run.stderr).toContain('fix: npx snakepit types --adapter shop.tools.ShopAdapter --python-path python --out tools.ts');
    expect(fs.existsSync(path.join(folder, 'tools.ts'))).toBe(false);
  });

  it("gives the doctor's advice when the interpreter cannot be run, and refuses a wrong command line", async () => {
    const run = await types(['--adapter', showcase, '--python', '/no/such/python', '--out', 'tools.ts'], { cwd: temporaryFolder() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('✗ interpreter  /no/such/python cannot be run (ENOENT); it comes from --python');
    expect(run.stderr).toContain('fix: drop --python (or point it at an installed Python 3.9+)');

    const noOut = await types(['--adapter', showcase]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain('--out FILE is required');
    const badAdapter = await types(['--adapter', 'Showcase', '--out', 'x.ts']);
    expect(badAdapter.code).toBe(2);
    expect(badAdapter.stderr).toContain('--adapter must be "package.module.ClassName"');
  });
});

describe('snakepit types --endpoint (a running worker server)', () => {
  it('writes the same module from a server over TLS as from the adapter, and names what is wrong', async () => {
    const certificates = await makeTlsFixture();
    const service = await startWorkerService({ adapter: showcase, tlsCert: certificates.server.certPath, tlsKey: certificates.server.keyPath });
    try {
      const folder = temporaryFolder();
      const tokenFile = path.join(folder, 'token');
      fs.writeFileSync(tokenFile, `${service.token}\n`, { mode: 0o600 });
      const out = path.join(folder, 'tools.ts');
      const args = ['--endpoint', service.endpoint, '--ca', certificates.ca.certPath, '--token-file', tokenFile, '--out', out];
      const written = await types(args);
      expect(written.stderr).toBe('');
      expect(written.code).toBe(0);
      const text = fs.readFileSync(out, 'utf8');
      // The same tools, the same adapter (the server reports its class): the same module after the header.
      expect(body(text)).toBe(body(fs.readFileSync(path.join(packageRoot, fixture), 'utf8')));
      expect(text).toContain(`npx snakepit types --endpoint ${service.endpoint} --ca`);
      expect(text).not.toContain(service.token);
      expect((await types([...args, '--check'])).code).toBe(0);

      const wrongCa = await types(['--endpoint', service.endpoint, '--ca', certificates.otherCa.certPath, '--token-file', tokenFile, '--out', out]);
      expect(wrongCa.code).toBe(1);
      expect(wrongCa.stderr).toMatch(/not signed by the configured CA/);
      const noToken = await types(['--endpoint', service.endpoint, '--ca', certificates.ca.certPath, '--out', out], {
        env: { ...process.env, SNAKEPIT_TOKEN: '' },
      });
      expect(noToken.code).toBe(2);
      expect(noToken.stderr).toMatch(/needs the server's token/);
      const mixed = await types([...args, '--adapter', showcase]);
      expect(mixed.code).toBe(2);
      expect(mixed.stderr).toMatch(/leave out --adapter/);
    } finally {
      await service.stop();
      await certificates.cleanup();
    }
  });
});

describe('the generated module, in use', () => {
  it('types calls to a real pool, and its toolSchemas refuse what the compiler cannot see', async () => {
    const pool = createPool<Tools>({ adapter: showcaseAdapter(), size: 1, argumentSchemas: toolSchemas });
    try {
      const sum: number = await pool.execute('add', { a: 40, b: 2 });
      expect(sum).toBe(42);
      const bytes: Uint8Array = await pool.execute('echo_bytes', { data: new Uint8Array([1, 2]) });
      expect([...bytes]).toEqual([1, 2]);
      const steps: number[] = [];
      for await (const chunk of pool.executeStream('stream_progress', { steps: 2, delay_ms: 0 })) {
        if (chunk.step !== undefined) steps.push(chunk.step);
      }
      expect(steps).toEqual([1, 2]);
      const progress: Progress[] = await pool.execute('stream_progress', { steps: 1, delay_ms: 0 });
      expect(progress).toHaveLength(1);

      // Checked by `tsc --noEmit` (the package's typecheck): each line must be a compile error.
      // @ts-expect-error: "b" is required
      void (() => pool.execute('add', { a: 1 }));
      // @ts-expect-error: "a" is a number
      void (() => pool.execute('add', { a: '1', b: 2 }));
      // @ts-expect-error: no such tool
      void (() => pool.execute('ad', { a: 1, b: 2 }));
      // @ts-expect-error: "pid" takes no arguments
      void (() => pool.execute('pid', { verbose: true }));

      const untrusted = JSON.parse('{"a": "forty", "b": 2}');
      const refused = await pool.execute('add', untrusted).catch((error: unknown) => error);
      expect(SnakepitError.isInstance(refused) && refused.code).toBe('invalid_parameter');
      expect((refused as Error).message).toContain('"a"');
    } finally {
      await pool.close();
    }
  });
});
