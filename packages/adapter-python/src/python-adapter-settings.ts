/**
 * Validation of the Python adapters' settings, like the pool's options: an unknown key (a typo such
 * as `pythonpath`) or a bad value throws `invalid_parameter` naming it, when the adapter is made,
 * instead of surfacing later as a worker that cannot start.
 */
import { statSync } from 'node:fs';
import { errors } from '@snakepit/sdk/adapter';

/** The settings every Python adapter takes; see PythonAdapterSettings. */
export const pythonAdapterSettingKeys = [
  'adapter',
  'python',
  'pythonPath',
  'env',
  'cwd',
  'logLevel',
  'maxMessageBytes',
  'channelMaxRequestBytes',
] as const;

export const pythonLogLevels = ['debug', 'info', 'warning', 'error'] as const;

const adapterPathPattern = /^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Edit distance, for "did you mean" (option names are short). */
function distance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = previous[j]!;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

function suggestion(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  const close = known.find((name) => name.toLowerCase() === lower) ?? known.find((name) => distance(name.toLowerCase(), lower) <= 2);
  return close === undefined ? `; known options: ${known.join(', ')}` : ` (did you mean "${close}"?)`;
}

function shown(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Throws `invalid_parameter` for the first unknown key or bad value of `settings`. `factory` names
 * the function in messages; `extraKeys` are the ones a variant adds (validated by the variant).
 */
export function validatePythonAdapterSettings(settings: unknown, factory: string, extraKeys: readonly string[] = []): void {
  if (!isPlainObject(settings)) {
    throw errors.invalidParameter('settings', `${factory}() needs a settings object such as { adapter: "package.module.ClassName" }`);
  }
  const known = [...pythonAdapterSettingKeys, ...extraKeys];
  for (const key of Object.keys(settings)) {
    if (!known.includes(key)) throw errors.invalidParameter(key, `is not a known ${factory} option${suggestion(key, known)}`);
  }
  const { adapter, python, pythonPath, env, cwd, logLevel } = settings;
  if (typeof adapter !== 'string' || !adapterPathPattern.test(adapter)) {
    throw errors.invalidParameter(
      'adapter',
      adapter === undefined
        ? 'is required: the adapter class as "package.module.ClassName"'
        : `must be the adapter class as "package.module.ClassName", got ${shown(adapter)}`,
    );
  }
  if (python !== undefined && (typeof python !== 'string' || python === '')) {
    throw errors.invalidParameter('python', 'must be a non-empty path or command name of a Python interpreter');
  }
  if (pythonPath !== undefined) {
    if (!Array.isArray(pythonPath)) throw errors.invalidParameter('pythonPath', 'must be an array of folders');
    pythonPath.forEach((folder: unknown, index) => {
      if (typeof folder !== 'string' || folder === '') throw errors.invalidParameter(`pythonPath[${index}]`, 'must be a non-empty folder path');
    });
  }
  if (env !== undefined) {
    if (!isPlainObject(env)) throw errors.invalidParameter('env', 'must be an object of environment variables (name: string value)');
    for (const [name, value] of Object.entries(env)) {
      if (value !== undefined && typeof value !== 'string') throw errors.invalidParameter(`env.${name}`, 'must be a string');
    }
  }
  if (cwd !== undefined) {
    if (typeof cwd !== 'string' || cwd === '') throw errors.invalidParameter('cwd', 'must be a non-empty folder path');
    let isFolder = false;
    try {
      isFolder = statSync(cwd).isDirectory();
    } catch {
      // Missing: reported below.
    }
    if (!isFolder) throw errors.invalidParameter('cwd', `must be an existing folder; ${cwd} is not one`);
  }
  if (logLevel !== undefined && !(pythonLogLevels as readonly unknown[]).includes(logLevel)) {
    throw errors.invalidParameter('logLevel', `must be one of ${pythonLogLevels.map((level) => `'${level}'`).join(', ')}`);
  }
  for (const key of ['maxMessageBytes', 'channelMaxRequestBytes'] as const) {
    const value = settings[key];
    if (value !== undefined && typeof value !== 'number') throw errors.invalidParameter(key, 'must be a number of bytes');
  }
}
