/**
 * Arguments are encoded once, before a call is queued, so a value that cannot travel is refused
 * before anything is sent, with an error naming the parameter. JSON per parameter; top-level
 * `Uint8Array` (and so `Buffer`) values travel as raw bytes.
 */
import { errors } from '../errors.js';

/** Arguments of a tool call: JSON values per parameter; `Uint8Array`/`Buffer` values travel as raw bytes. */
export type ToolArguments = Record<string, unknown>;

export interface EncodedArguments {
  /** UTF-8 JSON document per parameter. */
  json: Record<string, Uint8Array>;
  /** Raw bytes per parameter. */
  binary: Record<string, Uint8Array>;
}

class Unencodable extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(reason);
  }
}

function pathOf(parentPath: string, key: string, holder: unknown): string {
  if (key === '') return parentPath;
  return Array.isArray(holder) ? `${parentPath}[${key}]` : `${parentPath}.${key}`;
}

function describeKind(value: unknown): string | undefined {
  switch (typeof value) {
    case 'bigint':
      return 'BigInt is not JSON; convert it to a number or string';
    case 'function':
      return 'functions cannot be sent';
    case 'symbol':
      return 'symbols cannot be sent';
    case 'number':
      return Number.isFinite(value) ? undefined : `${value} is not JSON`;
    case 'object':
      if (value instanceof Uint8Array) return 'binary values are only supported as top-level parameters';
      if (value instanceof Map || value instanceof Set) {
        return `${value.constructor.name} is not JSON; convert it to an object or array`;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Encodes one JSON parameter, refusing what JSON would silently lose or cannot encode. */
function encodeJson(key: string, value: unknown): Uint8Array {
  const ancestors: unknown[] = [];
  const paths: string[] = [];
  let text: string | undefined;
  try {
    text = JSON.stringify(value, function replacer(this: unknown, childKey: string, encoded: unknown) {
      // `this[childKey]` is the value before toJSON ran (a Buffer, not its toJSON() shape).
      const original = childKey === '' ? value : (this as Record<string, unknown>)[childKey];
      while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) {
        ancestors.pop();
        paths.pop();
      }
      const parentPath = paths.length > 0 ? paths[paths.length - 1]! : key;
      const path = pathOf(parentPath, childKey, this);
      const problem = describeKind(original) ?? describeKind(encoded);
      if (problem !== undefined) throw new Unencodable(path, problem);
      if (typeof encoded === 'object' && encoded !== null) {
        if (ancestors.includes(encoded)) throw new Unencodable(path, 'circular reference');
        ancestors.push(encoded);
        paths.push(path);
      }
      return encoded;
    });
  } catch (error) {
    if (error instanceof Unencodable) {
      const where = error.path === key ? '' : ` at ${error.path}`;
      throw errors.invalidParameter(key, `${error.reason}${where}`);
    }
    // Whatever threw (a toJSON, a getter) may have put the value in its message; the error names
    // only the parameter and what happened, and keeps the original as its cause.
    const thrown = error instanceof Error ? error.name : typeof error;
    throw errors.invalidParameter(key, `could not be encoded: reading it threw ${thrown}`, error);
  }
  if (text === undefined) throw errors.invalidParameter(key, 'value has no JSON form');
  return Buffer.from(text, 'utf8');
}

export function encodeArguments(args: ToolArguments | undefined): EncodedArguments {
  const encoded: EncodedArguments = { json: {}, binary: {} };
  if (args === undefined || args === null) return encoded;
  if (typeof args !== 'object' || Array.isArray(args)) {
    throw errors.invalidParameter('(arguments)', 'arguments must be a plain object of named parameters');
  }
  for (const key of Object.keys(args)) {
    const value = args[key];
    if (value === undefined) continue;
    if (value instanceof Uint8Array) encoded.binary[key] = value;
    else encoded.json[key] = encodeJson(key, value);
  }
  return encoded;
}

const decoder = new TextDecoder();

/** The inverse of encodeArguments, for adapters that run in memory. */
export function decodeArguments(encoded: EncodedArguments): ToolArguments {
  const args: ToolArguments = {};
  for (const [key, bytes] of Object.entries(encoded.json)) args[key] = JSON.parse(decoder.decode(bytes));
  for (const [key, bytes] of Object.entries(encoded.binary)) args[key] = bytes;
  return args;
}
