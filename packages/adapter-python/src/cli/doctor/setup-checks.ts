/**
 * The doctor's checks before a worker is started: the interpreter, its version, grpcio and
 * protobuf, and whether the adapter imports. `snakepit doctor` prints every line; `snakepit types`
 * runs them when its worker did not start, to give the same advice.
 */
import { findPythonInterpreter } from '../../python-interpreter.js';
import { pythonRequirements } from '../../python-setup-advice.js';
import { adapterLine, interpreterLine, moduleLine, pythonVersionLine, type CheckLine } from './checks.js';
import { probeAdapterImport, probeEnvironment, workerEnvironment } from './python-probe.js';

export interface SetupCheckInput {
  python: string | undefined;
  /** Checked when given; without it, a note says how to check one. */
  adapter: string | undefined;
  pythonPath: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The command to suggest with `--python-path DIR` added, when the adapter's folder is missing. */
  rerunWithPythonPath?: (folder: string) => string;
}

/** Reports each line as soon as it is known; lines after a failure are skipped. */
export async function checkSetup(input: SetupCheckInput, report: (line: CheckLine) => void): Promise<void> {
  const { adapter, pythonPath, cwd } = input;
  let failed = false;
  const add = (line: CheckLine) => {
    failed ||= line.status === 'fail';
    report(line);
  };
  const skip = (label: string, why: string) => report({ status: 'skip', label, summary: `not checked: ${why}` });

  const choice = findPythonInterpreter({ python: input.python, cwd, env: input.env });
  const env = workerEnvironment(input.env, pythonPath);
  const environment = await probeEnvironment(choice.command, env, cwd);
  add(interpreterLine(choice, environment));
  if (!environment.ok) {
    for (const label of ['python', 'grpcio', 'protobuf', 'adapter']) skip(label, 'needs a working interpreter');
    return;
  }
  const probe = environment.value;
  add(pythonVersionLine(choice, probe));
  add(moduleLine('grpcio', probe.grpcio, pythonRequirements.grpcio, choice, probe));
  add(moduleLine('protobuf', probe.protobuf, pythonRequirements.protobuf, choice, probe));
  if (adapter === undefined) {
    report({
      status: 'note',
      label: 'adapter',
      summary: 'not checked: pass --adapter package.module.ClassName (and --python-path DIR for its folder) to check yours',
    });
  } else if (failed) {
    skip('adapter', 'fix the lines above first');
  } else {
    const rerun = input.rerunWithPythonPath === undefined ? {} : { rerunWithPythonPath: input.rerunWithPythonPath };
    add(adapterLine({ adapter, pythonPath, cwd, choice, probe, ...rerun }, await probeAdapterImport(choice.command, adapter, env, cwd)));
  }
}
