/**
 * `snakepit types`: starts one worker of the adapter (or, with `--endpoint`, connects to a running
 * worker server, for a fleet whose Python lives on other hosts), reads its tools' schemas
 * (`DescribeTools`) and writes the TypeScript module for `createPool<Tools>()` (see
 * tool-types/tools-module.ts). With `--check` it writes nothing and exits 1 when the file differs
 * from what it would write, for CI. A worker that does not start gets the doctor's diagnosis and
 * fixes; a server that cannot be reached, the reason.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { shellQuote } from '../../python-setup-advice.js';
import { toolsModule } from '../../tool-types/tools-module.js';
import { defineCommand } from '../command.js';
import type { CheckLine } from '../doctor/checks.js';
import { formatLine } from '../doctor/report.js';
import { checkSetup } from '../doctor/setup-checks.js';
import { workerFailureLine } from '../doctor/worker-check.js';
import { paint, type CliIo } from '../output.js';
import { describeAdapter, describeRemoteWorker, type DescribeOutcome } from './describe-adapter.js';
import { remoteSource, remoteTypesOptions } from './remote-source.js';

const defaultStartupTimeoutMs = 30_000;
const adapterPattern = /^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$/;

/** A path as the header shows it: relative to the current folder, with forward slashes. */
function shownPath(cwd: string, given: string): string {
  const relative = path.relative(cwd, path.resolve(cwd, given)) || '.';
  return relative.split(path.sep).join('/');
}

interface CommandLine {
  adapter: string;
  pythonPath: string[];
  python: string | undefined;
  out: string;
  /** With `--endpoint`: the options naming the server, in place of `--adapter` and `--python-path`. */
  remote?: string[];
}

/**
 * The command that writes the file, as its header records it: without `--python`, which differs
 * from machine to machine and does not change the output.
 */
function generatingCommand(line: CommandLine, cwd: string, extra: string[] = []): string {
  const words = ['npx', 'snakepit', 'types'];
  if (line.remote !== undefined) words.push(...line.remote);
  else words.push('--adapter', line.adapter);
  for (const folder of line.pythonPath) words.push('--python-path', shownPath(cwd, folder));
  words.push(...extra, '--out', shownPath(cwd, line.out));
  return words.map(shellQuote).join(' ');
}

/** The command to run again, as given (with `--python` when it was). */
function rerunCommand(line: CommandLine, cwd: string, pythonPath = line.pythonPath): string {
  return generatingCommand({ ...line, pythonPath }, cwd, line.python === undefined ? [] : ['--python', line.python]);
}

function firstDifference(left: string, right: string): number {
  const a = left.split('\n');
  const b = right.split('\n');
  let line = 0;
  while (line < a.length && line < b.length && a[line] === b[line]) line += 1;
  return line + 1;
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Why the worker gave no tools, with the doctor's advice: the first failing check, or the start error. */
async function explainFailure(line: CommandLine, cwd: string, error: unknown, stage: 'start' | 'describe', io: CliIo): Promise<void> {
  io.err(`${paint(io, 'bold', 'snakepit types')}: could not read the tools of ${line.adapter}\n\n`);
  if (stage === 'describe') {
    const summary = error instanceof Error ? error.message : String(error);
    io.err(formatLine({ status: 'fail', label: 'tools', summary, fix: 'run `npx snakepit doctor` with the same options, then this command again' }, io));
    return;
  }
  const failing: CheckLine[] = [];
  await checkSetup(
    {
      python: line.python,
      adapter: line.adapter,
      pythonPath: line.pythonPath,
      cwd,
      env: io.env,
      rerunWithPythonPath: (folder) => rerunCommand(line, cwd, [...line.pythonPath, folder]),
    },
    (check) => {
      if (check.status === 'fail') failing.push(check);
    },
  );
  const lines = failing.length > 0 ? failing : [workerFailureLine(line.adapter, error, 'run this command again')];
  for (const check of lines) io.err(formatLine(check, io));
}

export const typesCommand = defineCommand({
  name: 'types',
  summary: "writes a TypeScript module of your adapter's tools (type Tools, toolSchemas) for createPool<Tools>()",
  options: {
    adapter: { kind: 'string', value: 'package.module.ClassName', description: 'the adapter class whose tools to describe (required)' },
    'python-path': { kind: 'strings', value: 'DIR', description: 'a folder put on PYTHONPATH, as the pythonPath option' },
    python: { kind: 'string', value: 'PATH', description: 'the interpreter (as the python option); default: the search' },
    out: { kind: 'string', value: 'FILE', description: 'the module to write, e.g. src/tools.ts (required)' },
    check: { kind: 'boolean', description: 'write nothing; exit 1 when FILE is missing or differs from what would be written (for CI)' },
    'startup-timeout-ms': { kind: 'string', value: 'MS', description: `how long the worker may take to start; default ${defaultStartupTimeoutMs}` },
    ...remoteTypesOptions,
  },
  async run(options, io) {
    const fail = (message: string) => {
      io.err(`snakepit types: ${message}\n\nRun \`snakepit types --help\` for the options.\n`);
      return 2;
    };
    if (options.out === undefined) return fail('--out FILE is required (e.g. --out src/tools.ts)');
    const startupTimeoutMs = Number(options['startup-timeout-ms'] ?? defaultStartupTimeoutMs);
    if (!Number.isInteger(startupTimeoutMs) || startupTimeoutMs < 1) return fail('--startup-timeout-ms needs a whole number of milliseconds');
    const cwd = io.cwd;

    let line: CommandLine;
    let outcome: DescribeOutcome;
    if (options.endpoint !== undefined) {
      if (options.adapter !== undefined || options['python-path'] !== undefined || options.python !== undefined) {
        return fail('--endpoint reads the tools of a running worker server: leave out --adapter, --python-path and --python');
      }
      const source = await remoteSource(options, cwd, io.env, startupTimeoutMs);
      if ('problem' in source) return fail(source.problem);
      outcome = await describeRemoteWorker(source.input);
      if (!outcome.ok) {
        const reason = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
        io.err(`${paint(io, 'bold', 'snakepit types')}: could not read the tools of the worker server at ${options.endpoint}: ${reason}\n`);
        return 1;
      }
      const adapter = typeof outcome.info.adapter === 'string' && outcome.info.adapter !== '' ? outcome.info.adapter : options.endpoint;
      line = { adapter, pythonPath: [], python: undefined, out: options.out, remote: source.words };
    } else {
      if (options.adapter === undefined) return fail('--adapter package.module.ClassName (or --endpoint HOST:PORT) is required');
      if (!adapterPattern.test(options.adapter)) return fail(`--adapter must be "package.module.ClassName", got "${options.adapter}"`);
      line = { adapter: options.adapter, pythonPath: options['python-path'] ?? [], python: options.python, out: options.out };
      outcome = await describeAdapter({ adapter: line.adapter, python: line.python, pythonPath: line.pythonPath, cwd, startupTimeoutMs });
      if (!outcome.ok) {
        await explainFailure(line, cwd, outcome.error, outcome.stage, io);
        return 1;
      }
    }

    const text = toolsModule(outcome.tools, { command: generatingCommand(line, cwd), adapter: line.adapter });
    const file = path.resolve(cwd, line.out);
    const shown = shownPath(cwd, line.out);
    const current = await readIfPresent(file);
    const count = `${outcome.tools.length} tool${outcome.tools.length === 1 ? '' : 's'}`;
    if (options.check === true) {
      if (current === text) {
        io.out(`${paint(io, 'green', '✓')} ${shown} is up to date (${count} of ${line.adapter})\n`);
        return 0;
      }
      const why = current === undefined ? 'does not exist' : `is stale (first difference at line ${firstDifference(current, text)})`;
      io.err(`${paint(io, 'red', '✗')} ${shown} ${why}: the tools of ${line.adapter} changed since it was generated.\n`);
      io.err(`  ${paint(io, 'bold', 'fix:')} ${rerunCommand(line, cwd)}\n`);
      return 1;
    }
    if (current === text) {
      io.out(`${shown} is already up to date (${count})\n`);
      return 0;
    }
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    io.out(`wrote ${shown}: ${count} of ${line.adapter} (worker ready in ${outcome.readyMs} ms)\n`);
    return 0;
  },
});
