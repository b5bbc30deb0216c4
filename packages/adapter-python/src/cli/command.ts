/** The shape of one `snakepit` subcommand. */
import type { OptionSpecs, ParsedOptions } from './arguments.js';
import type { CliIo } from './output.js';

export interface CliCommand<Specs extends OptionSpecs = OptionSpecs> {
  name: string;
  summary: string;
  options: Specs;
  /** Resolves with the exit code: 0 success, 1 failure. */
  run(options: ParsedOptions<Specs>, io: CliIo): Promise<number>;
}

/** Defines a command, its options' types inferred from their specs. */
export function defineCommand<Specs extends OptionSpecs>(command: CliCommand<Specs>): CliCommand {
  return command as unknown as CliCommand;
}
