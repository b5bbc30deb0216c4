/**
 * `describe(value)`: a one-line summary of a value's shape that never contains the value itself,
 * for log lines and error messages about payloads that may hold secrets or personal data.
 */
import { className, isBytes, isError, isPlainObject } from './value-kind.js';

/** How many keys of an object are listed before only the count is given. */
const listedKeyLimit = 5;
/** Keys longer than this are cut, because a key can itself be data (an id, an e-mail). */
const keyLengthLimit = 32;
/** How many array elements have their type listed. */
const sampledElementLimit = 5;

/**
 * Summarises `value` without printing it:
 *
 * - plain object: `object(keys: ["a","b"], count: 2)`: at most 5 keys, each cut to 32 characters
 *   plus `...`, JSON-quoted
 * - array: `array(len: 3, sample_types: string,object,number)`: types of the first 5 elements;
 *   `array(len: 0)` when empty
 * - string: `string(len: 11)` (UTF-16 code units); byte containers: `bytes(len: 4)` (byte length)
 * - number, boolean, null, undefined: as themselves (`42`, `true`, `null`, `undefined`)
 * - bigint, symbol, function: `bigint`, `symbol`, `function`
 * - Map and Set: `Map(size: 2)`, `Set(size: 2)`
 * - error: `error(TypeError)`; any other class instance, Date included: `instance(Date)`
 *
 * It looks one level deep only, so cyclic values are safe, and it never throws: a value whose
 * inspection throws (a hostile Proxy) is described as `unknown`.
 */
export function describe(value: unknown): string {
  try {
    return describeValue(value);
  } catch {
    return 'unknown';
  }
}

function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `string(len: ${value.length})`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
    case 'symbol':
    case 'function':
      return typeof value;
    default:
      break;
  }
  if (value === null) return 'null';
  const object = value as object;
  if (Array.isArray(object)) return describeArray(object);
  if (isBytes(object)) return `bytes(len: ${object.byteLength})`;
  if (object instanceof Map) return `Map(size: ${object.size})`;
  if (object instanceof Set) return `Set(size: ${object.size})`;
  if (isError(object)) return `error(${className(object)})`;
  if (isPlainObject(object)) return describeObjectKeys(object);
  return `instance(${className(object)})`;
}

function describeObjectKeys(object: object): string {
  const keys = Object.keys(object);
  const listed = keys.slice(0, listedKeyLimit).map((key) => {
    const shown = key.length > keyLengthLimit ? `${key.slice(0, keyLengthLimit)}...` : key;
    return JSON.stringify(shown);
  });
  return `object(keys: [${listed.join(',')}], count: ${keys.length})`;
}

function describeArray(array: readonly unknown[]): string {
  if (array.length === 0) return 'array(len: 0)';
  const sampleTypes: string[] = [];
  const sampled = Math.min(array.length, sampledElementLimit);
  for (let index = 0; index < sampled; index += 1) sampleTypes.push(typeName(array[index]));
  return `array(len: ${array.length}, sample_types: ${sampleTypes.join(',')})`;
}

/** The single-word type used in `sample_types`. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  if (Array.isArray(value)) return 'array';
  if (isBytes(value)) return 'bytes';
  if (isPlainObject(value)) return 'object';
  return className(value);
}
