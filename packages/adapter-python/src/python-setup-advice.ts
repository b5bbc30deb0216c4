/**
 * What the Python side needs, and the exact commands that provide it: used by the startup errors
 * of the Python adapters and by `npx snakepit doctor`, so both give the same advice.
 */
import path from 'node:path';
import { isVirtualenvPython, pathPython, type InterpreterChoice } from './python-interpreter.js';

/**
 * The generated code (protoc 3.21 and grpc_python_plugin 1.51, see buf.gen.yaml) imports on every
 * protobuf runtime from 4.21 to 7.x and every grpcio from 1.51 on.
 */
export const pythonRequirements = {
  python: { minimum: [3, 9] as const },
  grpcio: { minimum: [1, 51] as const },
  protobuf: { minimum: [4, 21] as const, below: [8] as const },
} as const;

const isWindows = process.platform === 'win32';

/** Quotes one shell word when it needs it. */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Where a new `.venv` belongs: the project root, where the search will find it. */
export function venvFolder(choice: InterpreterChoice): string {
  return choice.projectRoot.folder;
}

/**
 * Creates `.venv` where the search will find it, with grpcio and protobuf:
 * `python3 -m venv .venv && .venv/bin/pip install grpcio protobuf`, preceded by `cd` when that
 * folder is not the current one. `basePython` is the interpreter that makes the virtualenv.
 */
export function createVenvCommand(choice: InterpreterChoice, basePython = pathPython, currentFolder = process.cwd()): string {
  const folder = venvFolder(choice);
  const pip = isWindows ? '.venv\\Scripts\\pip' : '.venv/bin/pip';
  const steps = `${shellQuote(basePython)} -m venv .venv && ${pip} install grpcio protobuf`;
  return path.resolve(folder) === path.resolve(currentFolder) ? steps : `cd ${shellQuote(folder)} && ${steps}`;
}

/** `<python> -m pip install <requirements...>`. */
export function pipInstallCommand(python: string, requirements: string[]): string {
  return `${shellQuote(python)} -m pip install ${requirements.map(shellQuote).join(' ')}`;
}

/**
 * What follows the creation of a `.venv` when a setting outranks it in the search (an option or
 * SNAKEPIT_PYTHON pointing elsewhere), or undefined when the search will find it by itself.
 * `optionName` is how the `python` option is called where the advice is read.
 */
export function afterVenvNote(choice: InterpreterChoice, optionName = 'the python option'): string | undefined {
  const created = path.join(venvFolder(choice), '.venv', isWindows ? 'Scripts' : 'bin', isWindows ? 'python.exe' : 'python');
  if (choice.source === 'SNAKEPIT_PYTHON') return `then unset SNAKEPIT_PYTHON, or set SNAKEPIT_PYTHON=${created}`;
  if (choice.source === 'option') return `then set ${optionName} to ${created}, or remove it`;
  if (choice.source === 'VIRTUAL_ENV') return 'then deactivate the active virtualenv, or install into it instead';
  return undefined;
}

export interface InstallAdvice {
  command: string;
  /** What to do after the command, when the search would not pick up its result by itself. */
  note?: string;
}

/**
 * The command that gives `choice` grpcio and protobuf: pip into it when it is a virtualenv (where
 * pip may write), otherwise a new `.venv` (a system Python is usually "externally managed").
 */
export function installGrpcAdvice(
  choice: InterpreterChoice,
  options: { requirements?: string[]; inVirtualenv?: boolean; optionName?: string } = {},
): InstallAdvice {
  const inVirtualenv = options.inVirtualenv ?? (choice.source === 'VIRTUAL_ENV' || choice.source === '.venv' || isVirtualenvPython(choice.command));
  if (inVirtualenv) return { command: pipInstallCommand(choice.command, options.requirements ?? ['grpcio', 'protobuf']) };
  const note = afterVenvNote(choice, options.optionName);
  return { command: createVenvCommand(choice, choice.command), ...(note !== undefined ? { note } : {}) };
}

/** The search as a sentence, for errors: each place looked at and what was there. */
export function describeSearch(choice: InterpreterChoice): string {
  return `Searched: ${choice.searched.join('; ')}.`;
}

/** Startup error text when the chosen interpreter cannot be run at all. */
export function missingInterpreterHint(choice: InterpreterChoice): string {
  const check = 'Run `npx snakepit doctor` to check the set-up.';
  if (choice.source === 'option' || choice.source === 'SNAKEPIT_PYTHON') {
    const setting = choice.source === 'option' ? 'the python option' : 'SNAKEPIT_PYTHON';
    return (
      `The Python interpreter "${choice.command}" from ${setting} does not exist or cannot be run: point ${setting} at ` +
      `an installed Python 3.9+ (or remove it to let the search find one), or create a virtualenv with ` +
      `\`${createVenvCommand(choice)}\` (${afterVenvNote(choice)}). ${check}`
    );
  }
  return (
    `No Python interpreter was found: "${choice.command}" (${choice.reason}) cannot be run. ${describeSearch(choice)} ` +
    `Install Python 3.9+ and create a virtualenv where the search finds it: \`${createVenvCommand(choice)}\`, ` +
    `or set SNAKEPIT_PYTHON to an interpreter. ${check}`
  );
}

/** Appended to a startup failure that says grpcio or protobuf cannot be imported. */
export function missingGrpcHint(choice: InterpreterChoice): string {
  const advice = installGrpcAdvice(choice);
  return (
    `The interpreter is ${choice.command}, chosen from ${choice.reason}. Give it grpcio and protobuf: ` +
    `\`${advice.command}\`${advice.note === undefined ? '' : ` (${advice.note})`}. Run \`npx snakepit doctor\` to check the set-up.`
  );
}
