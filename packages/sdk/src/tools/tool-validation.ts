/**
 * The rules a tool name and a string map (tool or session metadata) must follow. They live in one
 * place because the registry, the worker tool catalog, the session store and the bridge server
 * all refuse the same inputs with the same reasons.
 */
import { errors } from '../errors.js';

export const toolNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const maxToolNameLength = 64;
export const maxMetadataEntries = 32;
/** Size of the map serialized as JSON, in UTF-8 bytes. */
export const maxMetadataBytes = 4096;

/** Longest slice of an offending input echoed back in an error, so a huge input cannot bloat the reply. */
const maxEchoLength = 80;

/** A prefix of `text` short enough to quote in an error message or error trailer. */
export function abbreviate(text: string): string {
  return text.length <= maxEchoLength ? text : `${text.slice(0, maxEchoLength)}…`;
}

/** Throws `invalid_parameter` (details.key, details.reason: empty / too_long / invalid_format). */
export function validateToolName(name: unknown, key = 'name'): string {
  if (typeof name !== 'string') throw errors.invalidParameter(key, 'invalid_type');
  if (name.length === 0) throw errors.invalidParameter(key, 'empty');
  if (name.length > maxToolNameLength) throw errors.invalidParameter(key, 'too_long');
  if (!toolNamePattern.test(name)) throw errors.invalidParameter(key, 'invalid_format');
  return name;
}

/**
 * Checks a string-to-string map and returns a frozen copy. Bounded because metadata is copied
 * into every listing and wire message; the copy means later edits by the caller change nothing.
 */
export function validateStringMap(value: unknown, key = 'metadata'): Readonly<Record<string, string>> {
  if (value === undefined || value === null) return Object.freeze({});
  if (typeof value !== 'object' || Array.isArray(value)) throw errors.invalidParameter(key, 'invalid_type');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > maxMetadataEntries) throw errors.invalidParameter(key, 'metadata_too_large');
  const copy: Record<string, string> = {};
  for (const [entryKey, entryValue] of entries) {
    if (typeof entryValue !== 'string') throw errors.invalidParameter(`${key}.${abbreviate(entryKey)}`, 'invalid_type');
    // defineProperty: a key named "__proto__" must stay data, not replace the prototype.
    Object.defineProperty(copy, entryKey, { value: entryValue, enumerable: true, writable: false });
  }
  if (Buffer.byteLength(JSON.stringify(copy), 'utf8') > maxMetadataBytes) {
    throw errors.invalidParameter(key, 'metadata_too_large');
  }
  return Object.freeze(copy);
}
