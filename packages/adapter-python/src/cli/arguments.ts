/**
 * A small parser for the CLI's `--name value`, `--name=value` and `--flag` arguments, so each
 * subcommand declares its options and gets a usage error naming the one that is wrong.
 */

export type OptionKind = 'string' | 'strings' | 'boolean';

export interface OptionSpec {
  kind: OptionKind;
  /** Shown in the usage text, e.g. "DIR". */
  value?: string;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export type ParsedOptions<Specs extends OptionSpecs> = {
  [Name in keyof Specs]?: Specs[Name]['kind'] extends 'strings' ? string[] : Specs[Name]['kind'] extends 'boolean' ? boolean : string;
};

/** A mistake in the command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseOptions<Specs extends OptionSpecs>(argv: readonly string[], specs: Specs): ParsedOptions<Specs> {
  const parsed: Record<string, string | string[] | boolean> = {};
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (!argument.startsWith('--')) throw new UsageError(`unexpected argument "${argument}"`);
    const equals = argument.indexOf('=');
    const name = argument.slice(2, equals === -1 ? undefined : equals);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`unknown option --${name}`);
    if (spec.kind === 'boolean') {
      if (equals !== -1) throw new UsageError(`--${name} takes no value`);
      parsed[name] = true;
      continue;
    }
    let value: string | undefined;
    if (equals !== -1) value = argument.slice(equals + 1);
    else if (index + 1 < argv.length && !argv[index + 1]!.startsWith('--')) value = argv[(index += 1)];
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value (${spec.value ?? 'VALUE'})`);
    if (spec.kind === 'strings') parsed[name] = [...((parsed[name] as string[] | undefined) ?? []), value];
    else parsed[name] = value;
  }
  return parsed as ParsedOptions<Specs>;
}

/** The options part of a usage text, one aligned line per option. */
export function describeOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => [
    `--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`,
    `${spec.description}${spec.kind === 'strings' ? ' (repeatable)' : ''}`,
  ]);
  const width = Math.max(...rows.map(([left]) => left!.length));
  return rows.map(([left, right]) => `  ${left!.padEnd(width)}  ${right}`).join('\n');
}
