/**
 * Asks an interpreter about itself with short `python -c` scripts: its version, whether it is a
 * virtualenv, grpcio and protobuf, and whether an adapter class imports. The scripts avoid syntax
 * newer than Python 3.6, so an old interpreter still says how old it is.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { pythonPackageRoot } from '../../python-package-path.js';

/** Marks the line carrying the answer, whatever else the interpreter prints (a sitecustomize). */
const answerMarker = 'SNAKEPIT-DOCTOR ';
const probeTimeoutMs = 30_000;

export interface ModuleProbe {
  version?: string;
  error?: string;
}

export interface EnvironmentProbe {
  executable: string;
  version: [number, number, number];
  implementation: string;
  inVirtualenv: boolean;
  /** `venv` and `ensurepip` import: `python -m venv` will work. */
  canMakeVirtualenv: boolean;
  grpcio: ModuleProbe;
  protobuf: ModuleProbe;
}

export interface AdapterImportProbe {
  ok: boolean;
  /** Where the failure happened: importing the module, or finding the class in it. */
  stage?: 'module' | 'class';
  type?: string;
  message?: string;
  /** ModuleNotFoundError.name: the module Python could not find. */
  missing?: string;
  file?: string;
  traceback?: string;
}

/** The interpreter could not be run, or answered nothing readable. */
export interface ProbeFailure {
  /** ENOENT, EACCES... when it could not even be started. */
  code?: string;
  message: string;
  stderr: string;
}

export type ProbeResult<T> = { ok: true; value: T } | { ok: false; failure: ProbeFailure };

const environmentScript = `
import json, sys
def probe(name):
    try:
        module = __import__(name, fromlist=["_"])
        return {"version": str(getattr(module, "__version__", "unknown"))}
    except Exception as exc:
        return {"error": "%s: %s" % (type(exc).__name__, exc)}
try:
    import venv, ensurepip
    can_make_venv = True
except Exception:
    can_make_venv = False
answer = {
    "executable": sys.executable,
    "version": list(sys.version_info[:3]),
    "implementation": getattr(getattr(sys, "implementation", None), "name", "unknown"),
    "inVirtualenv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
    "canMakeVirtualenv": can_make_venv,
    "grpcio": probe("grpc"),
    "protobuf": probe("google.protobuf"),
}
print(${JSON.stringify(answerMarker)} + json.dumps(answer))
`;

const adapterScript = `
import importlib, json, sys, traceback
module_name, _, class_name = sys.argv[1].rpartition(".")
def answer(value):
    print(${JSON.stringify(answerMarker)} + json.dumps(value))
    sys.exit(0)
try:
    module = importlib.import_module(module_name)
except BaseException as exc:
    answer({"ok": False, "stage": "module", "type": type(exc).__name__, "message": str(exc),
            "missing": getattr(exc, "name", None), "traceback": traceback.format_exc()})
if not isinstance(getattr(module, class_name, None), type):
    answer({"ok": False, "stage": "class", "file": getattr(module, "__file__", None)})
answer({"ok": True, "file": getattr(module, "__file__", None)})
`;

/** The environment the workers get: the adapter's folders and the shipped bridge on PYTHONPATH. */
export function workerEnvironment(env: NodeJS.ProcessEnv, pythonPath: readonly string[]): NodeJS.ProcessEnv {
  const inherited = env.PYTHONPATH ? [env.PYTHONPATH] : [];
  return { ...env, PYTHONPATH: [...pythonPath, pythonPackageRoot, ...inherited].join(path.delimiter), PYTHONUNBUFFERED: '1' };
}

function runScript<T>(python: string, script: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<ProbeResult<T>> {
  return new Promise((resolve) => {
    execFile(python, ['-c', script, ...args], { env, cwd, timeout: probeTimeoutMs, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const line = stdout.split('\n').find((candidate) => candidate.startsWith(answerMarker));
      if (line !== undefined) {
        try {
          resolve({ ok: true, value: JSON.parse(line.slice(answerMarker.length)) as T });
          return;
        } catch {
          // Unreadable: reported below.
        }
      }
      const code = typeof (error as NodeJS.ErrnoException | null)?.code === 'string' ? (error as NodeJS.ErrnoException).code : undefined;
      resolve({
        ok: false,
        failure: {
          ...(code !== undefined ? { code } : {}),
          message: error?.message ?? 'the interpreter answered nothing readable',
          stderr: stderr.trim(),
        },
      });
    });
  });
}

export function probeEnvironment(python: string, env: NodeJS.ProcessEnv, cwd: string): Promise<ProbeResult<EnvironmentProbe>> {
  return runScript<EnvironmentProbe>(python, environmentScript, [], env, cwd);
}

export function probeAdapterImport(python: string, adapter: string, env: NodeJS.ProcessEnv, cwd: string): Promise<ProbeResult<AdapterImportProbe>> {
  return runScript<AdapterImportProbe>(python, adapterScript, [adapter], env, cwd);
}
