/**
 * Session values and tool parameter descriptions must survive a trip through JSON unchanged, so
 * that a shared store (Redis) and Python see exactly what was stored. Anything JSON would drop or
 * alter silently (undefined, NaN, Date, Map, class instances, cycles) is refused, naming where.
 */
import { errors } from '../errors.js';
import { abbreviate } from '../tools/tool-validation.js';

/** Deeper values are refused: walking (and cloning) them would risk exhausting the stack. */
export const maxJsonDepth = 512;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function problemOf(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${value} is not JSON`;
    case 'object': {
      if (value === null || Array.isArray(value)) return undefined;
      const prototype = Object.getPrototypeOf(value);
      if (prototype === Object.prototype || prototype === null) return undefined;
      return `${(value as object).constructor?.name ?? 'this object'} is not plain JSON`;
    }
    default:
      return `${typeof value} is not JSON`;
  }
}

/** Throws `invalid_parameter` for `key` (with the path inside the value) unless `value` is plain JSON. */
export function assertJsonValue(key: string, value: unknown): asserts value is JsonValue {
  const ancestors = new Set<object>();
  const visit = (current: unknown, path: string, depth: number): void => {
    if (depth > maxJsonDepth) throw errors.invalidParameter(key, `nested deeper than ${maxJsonDepth} levels`);
    const problem = problemOf(current);
    if (problem !== undefined) {
      throw errors.invalidParameter(key, path === '' ? problem : `${problem} at ${abbreviate(path)}`);
    }
    if (typeof current !== 'object' || current === null) return;
    if (ancestors.has(current)) throw errors.invalidParameter(key, `circular reference at ${abbreviate(path)}`);
    ancestors.add(current);
    if (Array.isArray(current)) {
      current.forEach((item, index) => visit(item, `${path}[${index}]`, depth + 1));
    } else {
      for (const [childKey, child] of Object.entries(current)) visit(child, `${path}.${childKey}`, depth + 1);
    }
    ancestors.delete(current);
  };
  visit(value, '', 0);
}
