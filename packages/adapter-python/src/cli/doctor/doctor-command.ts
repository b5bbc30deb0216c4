/**
 * `snakepit doctor`: checks the Python side the way a pool will use it, and says what to run for
 * each problem. Lines: the interpreter (and why it was chosen), its version, grpcio and protobuf
 * against what the generated code needs, the adapter given with --adapter, and a real worker start
 * and ping. Exit code 1 when any line fails.
 */
import path from 'node:path';
import { defineCommand } from '../command.js';
import { paint } from '../output.js';
import type { CheckLine } from './checks.js';
import { formatLine, formatVerdict } from './report.js';
import { checkSetup } from './setup-checks.js';
import { builtInAdapter, workerLine } from './worker-check.js';

const defaultStartupTimeoutMs = 30_000;

export const doctorCommand = defineCommand({
  name: 'doctor',
  summary: 'checks the Python interpreter, grpcio and protobuf, your adapter, and starts a real worker',
  options: {
    python: { kind: 'string', value: 'PATH', description: 'the interpreter to check (as the python option); default: the search' },
    adapter: { kind: 'string', value: 'package.module.ClassName', description: 'also check that this adapter imports, and start it' },
    'python-path': { kind: 'strings', value: 'DIR', description: 'a folder put on PYTHONPATH, as the pythonPath option' },
    cwd: { kind: 'string', value: 'DIR', description: "the workers' working folder, where the .venv search starts; default: the current folder" },
    'startup-timeout-ms': { kind: 'string', value: 'MS', description: `how long the worker may take to start; default ${defaultStartupTimeoutMs}` },
  },
  async run(options, io) {
    const cwd = path.resolve(io.cwd, options.cwd ?? '.');
    const pythonPath = options['python-path'] ?? [];
    const startupTimeoutMs = Number(options['startup-timeout-ms'] ?? defaultStartupTimeoutMs);
    if (!Number.isInteger(startupTimeoutMs) || startupTimeoutMs < 1) {
      io.err('snakepit doctor: --startup-timeout-ms needs a whole number of milliseconds\n');
      return 2;
    }
    const adapter = options.adapter;
    if (adapter !== undefined && !/^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$/.test(adapter)) {
      io.err(`snakepit doctor: --adapter must be "package.module.ClassName", got "${adapter}"\n`);
      return 2;
    }

    const lines: CheckLine[] = [];
    const report = (line: CheckLine) => {
      lines.push(line);
      io.out(formatLine(line, io));
    };
    const skip = (label: string, why: string) => report({ status: 'skip', label, summary: `not checked: ${why}` });

    io.out(`${paint(io, 'bold', 'snakepit doctor')}: the Python side of @snakepit/adapter-python, from ${cwd}\n\n`);
    await checkSetup({ python: options.python, adapter, pythonPath, cwd, env: io.env }, report);
    if (lines.some((line) => line.status === 'fail')) {
      skip('worker', lines.some((line) => line.label === 'interpreter' && line.status === 'fail') ? 'needs a working interpreter' : 'fix the lines above first');
    } else {
      report(await workerLine({ adapter: adapter ?? builtInAdapter, python: options.python, pythonPath, cwd, startupTimeoutMs }));
    }
    io.out(formatVerdict(lines, io));
    return lines.some((line) => line.status === 'fail') ? 1 : 0;
  },
});
