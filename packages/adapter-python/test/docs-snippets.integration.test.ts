/**
 * The code in the guides runs as printed. Every fenced block marked `run` (```js run) in docs/*.md,
 * packages/sdk/docs/*.md and the package READMEs is written to a scratch folder inside the
 * repository (so `@snakepit/sdk` and the adapters resolve from the workspace) and run with Node
 * against real Python; it must exit 0 on its own, so a snippet that forgets `pool.close()` fails
 * here. Blocks marked `file=PATH` (```python file=my_tools/adapter.py) are written to PATH in the
 * same folder first, for the snippets of that document to use. A `// prints: TEXT` comment in a
 * run block asserts that TEXT appears on stdout, after the TEXT of the previous such comment.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { testPython } from './python-under-test.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Guides: each must hold at least one runnable snippet. */
const guideFolder = path.join(root, 'docs');
/** Documents whose runnable snippets (if any) run too, beside the guides. */
const otherDocuments = [
  'README.md',
  'packages/sdk/README.md',
  'packages/sdk/docs/sessions-and-host-tools.md',
  'packages/adapter-python/README.md',
  'packages/adapter-python-threaded/README.md',
];
/** Reference pages in docs/ that are not guides. */
const notGuides = new Set(['architecture.md']);

interface Block {
  language: string;
  run: boolean;
  file: string | undefined;
  code: string;
  line: number;
}

function blocksOf(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const opening = /^```(\S*)(.*)$/.exec(lines[index]!);
    if (opening === null) continue;
    const [, language = '', info = ''] = opening;
    const words = info.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    const start = index + 1;
    for (index += 1; index < lines.length && !/^```\s*$/.test(lines[index]!); index += 1) body.push(lines[index]!);
    const file = words.find((word) => word.startsWith('file='))?.slice('file='.length);
    blocks.push({ language, run: words.includes('run'), file, code: `${body.join('\n')}\n`, line: start });
  }
  return blocks;
}

function documents(): { name: string; file: string; guide: boolean }[] {
  const guides = readdirSync(guideFolder)
    .filter((name) => name.endsWith('.md') && !notGuides.has(name))
    .sort()
    .map((name) => ({ name: `docs/${name}`, file: path.join(guideFolder, name), guide: true }));
  return [...guides, ...otherDocuments.map((name) => ({ name, file: path.join(root, name), guide: false }))];
}

function runNode(script: string, cwd: string, timeoutMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], {
      cwd,
      env: { ...process.env, SNAKEPIT_PYTHON: testPython },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (text: Buffer) => (stdout += text.toString()));
    child.stderr.on('data', (text: Buffer) => (stderr += text.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const scratchRoot = path.join(root, '.scratch');
mkdirSync(scratchRoot, { recursive: true });
const scratch = mkdtempSync(path.join(scratchRoot, 'docs-'));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  try {
    rmdirSync(scratchRoot); // only when nothing else uses it
  } catch {
    // not empty
  }
});

for (const document of documents()) {
  const blocks = existsSync(document.file) ? blocksOf(readFileSync(document.file, 'utf8')) : [];
  const runnable = blocks.filter((block) => block.run);
  if (!document.guide && runnable.length === 0) continue;

  describe(document.name, () => {
    const folder = path.join(scratch, document.name.replaceAll('/', '__').replace(/\.md$/, ''));

    it('has runnable snippets in JavaScript, and files with distinct paths', () => {
      if (document.guide) expect(runnable.length, `${document.name} has no \`\`\`js run block`).toBeGreaterThan(0);
      for (const block of runnable) expect(['js', 'mjs'], `line ${block.line}: only js blocks run`).toContain(block.language);
      const files = blocks.flatMap((block) => (block.file === undefined ? [] : [path.posix.normalize(block.file)]));
      expect(files.filter((file) => file.startsWith('../') || path.isAbsolute(file))).toEqual([]);
      expect(new Set(files).size, 'two blocks write the same file').toBe(files.length);
    });

    runnable.forEach((block, index) => {
      const firstLine = block.code.split('\n').find((line) => line.trim() !== '' && !line.startsWith('//') && !line.startsWith('import ')) ?? '';
      it(`runs the snippet at line ${block.line} (${firstLine.trim().slice(0, 60)})`, async () => {
        if (!existsSync(folder)) {
          mkdirSync(folder, { recursive: true });
          for (const each of blocks) {
            if (each.file === undefined) continue;
            const target = path.join(folder, each.file);
            mkdirSync(path.dirname(target), { recursive: true });
            writeFileSync(target, each.code);
          }
        }
        const script = path.join(folder, `snippet-${index + 1}-line-${block.line}.mjs`);
        writeFileSync(script, block.code);
        const result = await runNode(script, folder, 20_000);
        const shown = `${document.name}:${block.line}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
        expect(result.signal, shown).toBeNull();
        expect(result.code, shown).toBe(0);
        let from = 0;
        for (const [, expected] of block.code.matchAll(/\/\/ prints: (.+)$/gm)) {
          const at = result.stdout.indexOf(expected!.trim(), from);
          expect(at, `expected "${expected!.trim()}" on stdout\n${shown}`).toBeGreaterThanOrEqual(0);
          from = at + expected!.trim().length;
        }
      });
    });
  });
}
