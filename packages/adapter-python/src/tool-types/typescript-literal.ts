/**
 * JSON values as TypeScript source: single-quoted strings, bare keys where they can be, an object
 * or array on one line when it fits in the line width, else one entry per line with trailing
 * commas. Used for the `toolSchemas` constant and for `@default` values in TSDoc.
 */

const width = 100;
const step = '  ';
const identifier = /^[A-Za-z_$][\w$]*$/;

const escapes: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v' };

/** A single-quoted string literal; control characters and line separators escaped. */
export function quoteString(text: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\\'\u0000-\u001f\u007f\u2028\u2029]/g, (character) => {
    return escapes[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `'${escaped}'`;
}

function key(name: string): string {
  // A `__proto__` key in an object literal would set the prototype, quoted or not; computed, it is a key.
  if (name === '__proto__') return "['__proto__']";
  return identifier.test(name) ? name : quoteString(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `value` (plain JSON) as a TypeScript expression. `indent` is the indentation of the line it
 * starts on, `used` the characters of that line before it.
 */
export function literal(value: unknown, indent = '', used = indent.length): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  const entries: Array<[string | undefined, unknown]> = Array.isArray(value)
    ? value.map((item) => [undefined, item])
    : isRecord(value)
      ? Object.entries(value).map(([name, item]) => [key(name), item])
      : [];
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return `${open}${close}`;
  const inline = entries.map(([name, item]) => `${name === undefined ? '' : `${name}: `}${literal(item, '', 0)}`).join(', ');
  const single = Array.isArray(value) ? `[${inline}]` : `{ ${inline} }`;
  // One more character for the comma or semicolon that follows.
  if (!single.includes('\n') && used + single.length + 1 <= width) return single;
  const inner = indent + step;
  const lines = entries.map(([name, item]) => {
    const head = `${inner}${name === undefined ? '' : `${name}: `}`;
    return `${head}${literal(item, inner, head.length)},`;
  });
  return `${open}\n${lines.join('\n')}\n${indent}${close}`;
}
