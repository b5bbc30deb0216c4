/**
 * Small type tests shared by `describe` and `redact`. They avoid `instanceof` where values may come
 * from another realm (a `vm` context, a worker's structured clone) and carry foreign prototypes.
 */

/** Byte containers: Buffer, Uint8Array and the other typed arrays, DataView, ArrayBuffer. */
export function isBytes(value: object): value is { readonly byteLength: number } {
  return (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)
  );
}

export function isError(value: object): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
}

/** An object literal or `Object.create(null)`: its prototype is some realm's Object.prototype. */
export function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** The class name of an instance, or `anonymous` for classes without one. */
export function className(value: object): string {
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === null || typeof prototype !== 'object') return 'Object';
  const constructor: unknown = (prototype as { constructor?: unknown }).constructor;
  if (typeof constructor === 'function' && constructor.name.length > 0) return constructor.name;
  return 'anonymous';
}
