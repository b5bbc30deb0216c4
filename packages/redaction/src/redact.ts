/**
 * `redact(value)`: a copy of a value that is safe to log. Values under sensitive keys are masked,
 * secrets inside ordinary strings are scrubbed, and size is bounded so that a 10 MB argument
 * cannot turn into a 10 MB log line.
 */
import { describe } from './describe.js';
import { createTextScrubber, defaultMask, type TextScrubber } from './scrub-text.js';
import { createKeyMatcher, type SensitiveKeyOptions } from './sensitive-keys.js';
import { className, isBytes, isError } from './value-kind.js';

export interface RedactOptions extends SensitiveKeyOptions {
  /** Replaces masked values. Default `"[REDACTED]"`. */
  mask?: string;
  /** Strings longer than this keep only their first this-many characters. Default 256. */
  maxStringLength?: number;
  /** Objects and arrays nested deeper than this become `"[depth limit]"`. Default 8. */
  maxDepth?: number;
  /** Arrays, objects, Maps and Sets keep their first this-many entries. Default 50. */
  maxItems?: number;
  /** Pass every kept string through `scrubText`. Default true. */
  scrubStrings?: boolean;
  /** Keep a (scrubbed) `stack` on redacted errors. Default false. */
  includeErrorStack?: boolean;
}

type ResolvedSettings = Required<Omit<RedactOptions, keyof SensitiveKeyOptions>>;

export const defaultRedactOptions: Readonly<ResolvedSettings> = Object.freeze({
  mask: defaultMask,
  maxStringLength: 256,
  maxDepth: 8,
  maxItems: 50,
  scrubStrings: true,
  includeErrorStack: false,
});

/** A redactor compiled for one set of options. */
export type Redactor = (value: unknown) => unknown;

/**
 * A secret that straddles the cut of a long string would survive as a fragment, so the scrubber
 * sees this much past the cut before the cut is made.
 */
const scrubMarginLength = 1024;

/** Builds a redactor for `options`. Reuse the result: building compiles the key and text patterns. */
export function createRedactor(options?: RedactOptions): Redactor {
  // `??` rather than spreading, so an explicit `undefined` means "use the default".
  const mask = options?.mask ?? defaultRedactOptions.mask;
  const maxStringLength = options?.maxStringLength ?? defaultRedactOptions.maxStringLength;
  const maxDepth = options?.maxDepth ?? defaultRedactOptions.maxDepth;
  const maxItems = options?.maxItems ?? defaultRedactOptions.maxItems;
  const scrubStrings = options?.scrubStrings ?? defaultRedactOptions.scrubStrings;
  const includeErrorStack = options?.includeErrorStack ?? defaultRedactOptions.includeErrorStack;
  const isSensitive = createKeyMatcher(options);
  const scrub: TextScrubber | undefined = scrubStrings
    ? createTextScrubber({ mask, sensitiveKeys: options?.sensitiveKeys })
    : undefined;

  function redactString(text: string): string {
    if (text.length <= maxStringLength) return scrub === undefined ? text : scrub(text);
    const window = text.slice(0, maxStringLength + scrubMarginLength);
    const scrubbed = scrub === undefined ? window : scrub(window);
    return `${cutAt(scrubbed, maxStringLength)}... [string len: ${text.length}]`;
  }

  function visit(value: unknown, depth: number, ancestors: Set<object>): unknown {
    switch (typeof value) {
      case 'string':
        return redactString(value);
      case 'number':
      case 'boolean':
      case 'undefined':
        return value;
      case 'bigint':
        // JSON.stringify throws on bigint; a decimal string keeps the log line writable.
        return value.toString();
      case 'symbol':
        return '[symbol]';
      case 'function':
        return '[function]';
      default:
        break;
    }
    if (value === null) return null;
    const object = value as object;
    if (isBytes(object)) return `[bytes len: ${object.byteLength}]`;
    if (object instanceof Date) {
      return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
    }
    if (ancestors.has(object)) return '[circular]';
    if (depth >= maxDepth) return '[depth limit]';
    ancestors.add(object);
    try {
      if (Array.isArray(object)) return visitList(object, object.length, depth, ancestors);
      if (object instanceof Set) return visitList(object, object.size, depth, ancestors);
      if (object instanceof Map) return visitMap(object, depth, ancestors);
      if (isError(object)) return visitError(object, depth, ancestors);
      return visitObject(object, depth, ancestors);
    } catch {
      // Only a hostile value (a Proxy whose traps throw) gets here; a log call must still succeed.
      return '[unreadable]';
    } finally {
      // Only ancestors count as cycles: the same object reached twice by different paths is fine.
      ancestors.delete(object);
    }
  }

  function visitEntry(key: string, value: unknown, depth: number, ancestors: Set<object>): unknown {
    // null and undefined stay visible: "no token was sent" is what one needs to debug auth.
    if (value !== null && value !== undefined && isSensitive(key)) return mask;
    return visit(value, depth + 1, ancestors);
  }

  function visitList(
    list: Iterable<unknown>,
    length: number,
    depth: number,
    ancestors: Set<object>,
  ): unknown[] {
    const output: unknown[] = [];
    for (const item of list) {
      if (output.length >= maxItems) break;
      output.push(visit(item, depth + 1, ancestors));
    }
    if (length > maxItems) output.push(`[... ${length - maxItems} more items]`);
    return output;
  }

  function visitMap(map: Map<unknown, unknown>, depth: number, ancestors: Set<object>) {
    const output: Record<string, unknown> = {};
    let count = 0;
    for (const [key, entryValue] of map) {
      if (count >= maxItems) break;
      count += 1;
      // A Map key may itself be an object holding data; only its shape is printed.
      const name = isPrimitiveKey(key) ? String(key) : describe(key);
      setProperty(output, name, visitEntry(name, entryValue, depth, ancestors));
    }
    if (map.size > maxItems) setProperty(output, '...', `[${map.size - maxItems} more keys]`);
    return output;
  }

  function visitObject(object: object, depth: number, ancestors: Set<object>) {
    const output: Record<string, unknown> = {};
    copyProperties(object, output, Object.keys(object), depth, ancestors);
    return output;
  }

  function copyProperties(
    source: object,
    output: Record<string, unknown>,
    keys: readonly string[],
    depth: number,
    ancestors: Set<object>,
  ): void {
    const kept = Math.min(keys.length, maxItems);
    for (let index = 0; index < kept; index += 1) {
      const key = keys[index] as string;
      let entryValue: unknown;
      try {
        entryValue = (source as Record<string, unknown>)[key];
      } catch {
        // A throwing getter must not turn a log call into a crash.
        setProperty(output, key, '[unreadable]');
        continue;
      }
      setProperty(output, key, visitEntry(key, entryValue, depth, ancestors));
    }
    if (keys.length > maxItems) setProperty(output, '...', `[${keys.length - maxItems} more keys]`);
  }

  function visitError(error: Error, depth: number, ancestors: Set<object>) {
    const output: Record<string, unknown> = {
      name: typeof error.name === 'string' ? error.name : className(error),
      message: typeof error.message === 'string' ? redactString(error.message) : '',
    };
    if (includeErrorStack && typeof error.stack === 'string') {
      // Stacks are long by nature and are what the reader wants, so they are scrubbed, not cut.
      output.stack = scrub === undefined ? error.stack : scrub(error.stack);
    }
    if (error.cause !== undefined) output.cause = visit(error.cause, depth + 1, ancestors);
    // Extra fields such as `code` or a Python exception type help debugging; they get the usual
    // treatment, except the ones already written above.
    const extraKeys = Object.keys(error).filter((key) => !Object.hasOwn(output, key) && key !== 'stack');
    copyProperties(error, output, extraKeys, depth, ancestors);
    return output;
  }

  return (value: unknown): unknown => visit(value, 0, new Set());
}

function isPrimitiveKey(key: unknown): boolean {
  const type = typeof key;
  return key === null || (type !== 'object' && type !== 'function' && type !== 'symbol');
}

/** Cuts without splitting a surrogate pair, which would print as a replacement character. */
function cutAt(text: string, length: number): string {
  if (text.length <= length) return text;
  const last = text.charCodeAt(length - 1);
  const splitsPair = last >= 0xd800 && last <= 0xdbff;
  return text.slice(0, splitsPair ? length - 1 : length);
}

/** Assigns without letting a `__proto__` key (legal in parsed JSON) replace the prototype. */
function setProperty(output: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(output, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    output[key] = value;
  }
}

const defaultRedactor = createRedactor();
const redactorsByOptions = new WeakMap<RedactOptions, Redactor>();

/**
 * Returns a copy of `value` that is safe to log; the input is never modified. The copy is plain
 * JSON-friendly data: Maps become objects, Sets become arrays, Dates ISO strings, errors
 * `{ name, message }`, byte containers `"[bytes len: N]"`, bigints decimal strings.
 *
 * The redactor built for an options object is remembered, so pass the same object each time (or
 * use `createRedactor`) on hot paths.
 */
export function redact(value: unknown, options?: RedactOptions): unknown {
  if (options === undefined) return defaultRedactor(value);
  let redactor = redactorsByOptions.get(options);
  if (redactor === undefined) {
    redactor = createRedactor(options);
    redactorsByOptions.set(options, redactor);
  }
  return redactor(value);
}
