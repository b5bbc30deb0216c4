/**
 * Dispatches `snakepit <command> [options]` to its subcommand. Each subcommand declares its
 * options once; the parser, the usage text and the exit codes (0 success, 1 a check or the command
 * failed, 2 a usage error) are shared.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeOptions, parseOptions, UsageError, type OptionSpecs, type ParsedOptions } from './arguments.js';
import type { CliCommand } from './command.js';
import { doctorCommand } from './doctor/doctor-command.js';
import type { CliIo } from './output.js';
import { typesCommand } from './types/types-command.js';

/** Every subcommand. */
const commands: CliCommand[] = [doctorCommand, typesCommand];

function packageVersion(): string {
  // dist/cli.js (and src/cli/*.ts under tests) sit below the package root.
  let folder = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 3; depth += 1, folder = path.dirname(folder)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === '@snakepit/adapter-python') return manifest.version ?? 'unknown';
    } catch {
      // Not here; one folder up.
    }
  }
  return 'unknown';
}

function usage(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'Usage: snakepit <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Run `snakepit <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

function commandUsage(command: CliCommand): string {
  return [`Usage: snakepit ${command.name} [options]`, '', command.summary, '', 'Options:', describeOptions(command.options), ''].join('\n');
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.err : io.out)(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.err(`snakepit: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandUsage(command));
    return 0;
  }
  let options: ParsedOptions<OptionSpecs>;
  try {
    options = parseOptions(rest, command.options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`snakepit ${command.name}: ${error.message}\n\n${commandUsage(command)}`);
    return 2;
  }
  return command.run(options, io);
}
