/**
 * The doctor's verdicts: each probe result becomes one line, and every failing line carries the
 * command that fixes it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { InterpreterChoice } from '../../python-interpreter.js';
import {
  afterVenvNote,
  createVenvCommand,
  installGrpcAdvice,
  pipInstallCommand,
  pythonRequirements,
  shellQuote,
} from '../../python-setup-advice.js';
import type { AdapterImportProbe, EnvironmentProbe, ModuleProbe, ProbeFailure, ProbeResult } from './python-probe.js';
import { describeRange, formatVersion, inRange, parseVersion } from './versions.js';

export type CheckStatus = 'ok' | 'fail' | 'skip' | 'note';

export interface CheckLine {
  status: CheckStatus;
  label: string;
  summary: string;
  /** Further lines under the summary. */
  details?: string[];
  /** What to run: present on every failing line. */
  fix?: string;
}

const debianHint = 'sudo apt-get install python3 python3-venv';

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

function withNote(command: string, note: string | undefined): string {
  return note === undefined ? command : `${command}  (${note})`;
}

/** The doctor's name for the python option. */
const optionName = '--python';

function installFix(choice: InterpreterChoice, inVirtualenv: boolean, requirements?: string[]): string {
  const advice = installGrpcAdvice(choice, { inVirtualenv, optionName, ...(requirements !== undefined ? { requirements } : {}) });
  return withNote(advice.command, advice.note);
}

export function interpreterLine(choice: InterpreterChoice, probe: ProbeResult<EnvironmentProbe>): CheckLine {
  const search = choice.source === 'PATH' ? choice.searched.map((step) => `looked at ${step}`) : [];
  const why = `chosen from ${choice.source === 'option' ? optionName : choice.reason}`;
  if (probe.ok) {
    const executable = probe.value.executable && probe.value.executable !== choice.command ? ` (${probe.value.executable})` : '';
    return { status: 'ok', label: 'interpreter', summary: `${choice.command}${executable}`, details: [why, ...search] };
  }
  return { ...interpreterFailure(choice, probe.failure), details: [why, ...search, ...failureDetails(probe.failure)] };
}

function failureDetails(failure: ProbeFailure): string[] {
  return failure.stderr === '' ? [] : [`stderr: ${lastLine(failure.stderr)}`];
}

function interpreterFailure(choice: InterpreterChoice, failure: ProbeFailure): Omit<CheckLine, 'details'> {
  const cannotRun = failure.code === 'ENOENT' || failure.code === 'EACCES';
  const summary = cannotRun ? `${choice.command} cannot be run (${failure.code})` : `${choice.command} did not answer as a Python interpreter: ${lastLine(failure.message)}`;
  if (choice.source === 'option' || choice.source === 'SNAKEPIT_PYTHON') {
    const setting = choice.source === 'option' ? '--python' : 'SNAKEPIT_PYTHON';
    const fix =
      choice.source === 'option'
        ? `drop --python (or point it at an installed Python 3.9+), or create a virtualenv: ${createVenvCommand(choice)}`
        : `unset SNAKEPIT_PYTHON (or point it at an installed Python 3.9+), or create a virtualenv: ${createVenvCommand(choice)}`;
    return { status: 'fail', label: 'interpreter', summary: `${summary}; it comes from ${setting}`, fix };
  }
  return {
    status: 'fail',
    label: 'interpreter',
    summary,
    fix: `install Python 3.9 or newer (e.g. \`${debianHint}\`), then: ${createVenvCommand(choice)}`,
  };
}

export function pythonVersionLine(choice: InterpreterChoice, probe: EnvironmentProbe): CheckLine {
  const { minimum } = pythonRequirements.python;
  const version = `${formatVersion(probe.version)} (${probe.implementation}${probe.inVirtualenv ? ', virtualenv' : ''})`;
  if (inRange(probe.version, minimum)) {
    return { status: 'ok', label: 'python', summary: `${version}; ${describeRange(minimum)} needed` };
  }
  return {
    status: 'fail',
    label: 'python',
    summary: `${version} is too old; ${describeRange(minimum)} needed`,
    fix: withNote(
      `install Python 3.9 or newer (e.g. \`${debianHint}\`), then make the virtualenv with it: ${createVenvCommand(choice)}`,
      afterVenvNote(choice, optionName),
    ),
  };
}

type Requirement = { minimum: readonly number[]; below?: readonly number[] };

/** grpcio or protobuf: installed, and within what the generated code imports on. */
export function moduleLine(
  label: 'grpcio' | 'protobuf',
  found: ModuleProbe,
  requirement: Requirement,
  choice: InterpreterChoice,
  probe: EnvironmentProbe,
): CheckLine {
  const needed = describeRange(requirement.minimum, requirement.below);
  const details = !probe.inVirtualenv && !probe.canMakeVirtualenv ? [`${choice.command} has no venv module: on Debian/Ubuntu, \`${debianHint}\` first`] : [];
  if (found.version === undefined) {
    return {
      status: 'fail',
      label,
      summary: `not installed in ${choice.command} (${found.error ?? 'import failed'}); ${needed} needed`,
      details,
      fix: installFix(choice, probe.inVirtualenv),
    };
  }
  const version = parseVersion(found.version);
  if (version !== undefined && inRange(version, requirement.minimum, requirement.below)) {
    return { status: 'ok', label, summary: `${found.version}; ${needed} needed` };
  }
  const spec =
    requirement.below === undefined
      ? `${label}>=${formatVersion(requirement.minimum)}`
      : `${label}>=${formatVersion(requirement.minimum)},<${formatVersion(requirement.below)}`;
  return {
    status: 'fail',
    label,
    summary: `${found.version} does not fit; ${needed} needed`,
    details,
    fix: installFix(choice, probe.inVirtualenv, ['--upgrade', spec]),
  };
}

/** Folders where a missing top-level package `name` might live, relative to `cwd`. */
function folderHolding(name: string, cwd: string): string | undefined {
  for (const folder of ['.', 'python', 'src', 'lib', 'py']) {
    const base = path.join(cwd, folder);
    if (existsSync(path.join(base, name, '__init__.py')) || existsSync(path.join(base, `${name}.py`)) || existsSync(path.join(base, name))) {
      return folder === '.' ? '.' : `./${folder}`;
    }
  }
  return undefined;
}

export interface AdapterCheckInput {
  adapter: string;
  pythonPath: readonly string[];
  cwd: string;
  choice: InterpreterChoice;
  probe: EnvironmentProbe;
  /** The command to suggest with `--python-path DIR` added. Default: the doctor's. */
  rerunWithPythonPath?: (folder: string) => string;
}

export function adapterLine(input: AdapterCheckInput, result: ProbeResult<AdapterImportProbe>): CheckLine {
  const { adapter, pythonPath, cwd, choice, probe } = input;
  const label = 'adapter';
  if (!result.ok) {
    return {
      status: 'fail',
      label,
      summary: `could not ask ${choice.command} to import ${adapter}: ${lastLine(result.failure.message)}`,
      details: failureDetails(result.failure),
      fix: `run it by hand to see why: ${shellQuote(choice.command)} -c ${shellQuote(`import ${adapter.slice(0, adapter.lastIndexOf('.'))}`)}`,
    };
  }
  const answer = result.value;
  const moduleName = adapter.slice(0, adapter.lastIndexOf('.'));
  const className = adapter.slice(adapter.lastIndexOf('.') + 1);
  if (answer.ok) return { status: 'ok', label, summary: `${adapter} imports${answer.file ? ` (${answer.file})` : ''}` };
  if (answer.stage === 'class') {
    return {
      status: 'fail',
      label,
      summary: `${moduleName} imports${answer.file ? ` (${answer.file})` : ''} but has no class ${className}`,
      fix: `check the class name in --adapter (the adapter option of pythonAdapter): "package.module.ClassName"`,
    };
  }
  const missing = answer.missing ?? undefined;
  const summary = `importing ${moduleName} raised ${answer.type}: ${answer.message}`;
  const traceback = answer.traceback === undefined ? [] : answer.traceback.trim().split('\n').slice(-6);
  if (answer.type === 'ModuleNotFoundError' && missing !== undefined && (moduleName === missing || moduleName.startsWith(`${missing}.`))) {
    const top = missing.split('.')[0]!;
    const folder = folderHolding(top, cwd);
    const searched = pythonPath.length === 0 ? 'no --python-path was given' : `--python-path: ${pythonPath.join(', ')}`;
    return {
      status: 'fail',
      label,
      summary: `Python cannot find ${missing} (${searched})`,
      fix:
        folder === undefined
          ? `add the folder that holds ${top}/ with --python-path DIR (the pythonPath option of pythonAdapter)`
          : `${input.rerunWithPythonPath?.(folder) ?? `npx snakepit doctor --adapter ${adapter} --python-path ${folder}`}   (and pythonAdapter({ pythonPath: ['${folder}'] }))`,
    };
  }
  if (answer.type === 'ModuleNotFoundError' && missing !== undefined) {
    const distribution = missing.split('.')[0]!;
    return {
      status: 'fail',
      label,
      summary,
      details: traceback,
      fix: probe.inVirtualenv
        ? `${pipInstallCommand(choice.command, [distribution])}   (the package on PyPI may have another name than the module "${distribution}")`
        : `${createVenvCommand(choice, choice.command)} && .venv/bin/pip install ${distribution}`,
    };
  }
  return { status: 'fail', label, summary, details: traceback, fix: `fix the error above in ${moduleName}, then run the doctor again` };
}
