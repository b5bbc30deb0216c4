/**
 * The pool's optional check of a call's arguments against its tool's JSON Schema, before anything
 * is sent (`PoolOptions.argumentSchemas`, usually the `toolSchemas` that `npx snakepit types`
 * writes). A refused call fails with `invalid_parameter` naming the key (a path such as
 * `items[2].name`) and the reason; the worker never sees it.
 *
 * It understands the JSON Schema that Python workers describe their tools with (see the Python
 * README's "Tool schemas"): `type`, `properties`, `required`, `additionalProperties`, `items`,
 * `prefixItems`, `enum`, `const`, `anyOf`, `oneOf`, `$ref` into `$defs`, and the bytes marker
 * `x-snakepit-type: "bytes"` (a `Uint8Array`). Other keywords are not checked: the worker still
 * checks its own arguments, so this is a fast early refusal, never the last line of defence.
 */
import { errors } from '../errors.js';
import type { ToolArguments } from '../wire/arguments.js';

/** A JSON Schema document or sub-schema, as JSON. */
export type JsonSchema = { readonly [keyword: string]: unknown } | boolean;

/** Tool name → the JSON Schema of its arguments object. */
export type ArgumentSchemas = { readonly [tool: string]: JsonSchema };

/** Why a value does not match, and where. */
interface Mismatch {
  path: string;
  reason: string;
}

/** Deeper than this, a schema is assumed to recurse without end and is not followed further. */
const maxDepth = 64;

export function validateArgumentSchemasOption(value: unknown): ArgumentSchemas | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw errors.invalidParameter('argumentSchemas', 'must be an object of tool name → JSON Schema');
  }
  for (const [tool, schema] of Object.entries(value)) {
    if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
      throw errors.invalidParameter(`argumentSchemas.${tool}`, 'must be a JSON Schema (an object or a boolean)');
    }
  }
  return value as ArgumentSchemas;
}

/** Throws `invalid_parameter` when `args` do not match `tool`'s schema; tools without one pass. */
export function checkArguments(schemas: ArgumentSchemas, tool: string, args: ToolArguments | undefined): void {
  if (!Object.hasOwn(schemas, tool)) return;
  const root = schemas[tool]!;
  const mismatch = match(root, args ?? {}, '', root, 0);
  if (mismatch !== undefined) throw errors.invalidParameter(mismatch.path || '(arguments)', mismatch.reason);
}

function match(schema: JsonSchema, value: unknown, path: string, root: JsonSchema, depth: number): Mismatch | undefined {
  if (schema === true || depth > maxDepth) return undefined;
  if (schema === false) return { path, reason: 'is not allowed' };
  const ref = schema.$ref;
  if (typeof ref === 'string') return match(resolve(root, ref), value, path, root, depth + 1);
  if (schema['x-snakepit-type'] === 'bytes') {
    return value instanceof Uint8Array ? undefined : { path, reason: `must be bytes (a Uint8Array), got ${describe(value)}` };
  }
  if ('const' in schema && !jsonEqual(schema.const, value)) return { path, reason: `must be ${JSON.stringify(schema.const)}` };
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => jsonEqual(option, value))) {
    return { path, reason: `must be one of ${schema.enum.map((option) => JSON.stringify(option)).join(', ')}` };
  }
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = schema[keyword];
    if (Array.isArray(options) && options.length > 0) {
      const failures = options.map((option) => match(option as JsonSchema, value, path, root, depth + 1));
      if (failures.every((failure) => failure !== undefined)) {
        // The nearest miss explains best: the option whose failure lies deepest in the value.
        return failures.reduce((best, failure) => (failure!.path.length > best!.path.length ? failure : best));
      }
    }
  }
  const type = schema.type;
  if (type !== undefined) {
    const types = Array.isArray(type) ? (type as unknown[]) : [type];
    if (!types.some((name) => hasType(name, value))) return { path, reason: `must be ${types.join(' or ')}, got ${describe(value)}` };
  }
  if (Array.isArray(value)) return matchArray(schema, value, path, root, depth);
  if (isPlainObject(value)) return matchObject(schema, value, path, root, depth);
  return undefined;
}

function matchArray(
  schema: { readonly [keyword: string]: unknown },
  value: unknown[],
  path: string,
  root: JsonSchema,
  depth: number,
): Mismatch | undefined {
  const prefix = Array.isArray(schema.prefixItems) ? (schema.prefixItems as JsonSchema[]) : [];
  if (schema.items === false && value.length > prefix.length) return { path, reason: `must have at most ${prefix.length} items` };
  for (let index = 0; index < value.length; index += 1) {
    const itemSchema = index < prefix.length ? prefix[index] : (schema.items as JsonSchema | undefined);
    if (itemSchema === undefined) continue;
    const mismatch = match(itemSchema, value[index], `${path}[${index}]`, root, depth + 1);
    if (mismatch !== undefined) return mismatch;
  }
  return undefined;
}

function matchObject(
  schema: { readonly [keyword: string]: unknown },
  value: Record<string, unknown>,
  path: string,
  root: JsonSchema,
  depth: number,
): Mismatch | undefined {
  const properties = isPlainObject(schema.properties) ? (schema.properties as Record<string, JsonSchema>) : {};
  if (Array.isArray(schema.required)) {
    for (const key of schema.required as string[]) {
      if (value[key] === undefined) return { path: join(path, key), reason: 'is required' };
    }
  }
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const propertySchema = Object.hasOwn(properties, key) ? properties[key] : (schema.additionalProperties as JsonSchema | undefined);
    if (propertySchema === undefined) continue;
    if (propertySchema === false) return { path: join(path, key), reason: 'is not a parameter of this tool' };
    const mismatch = match(propertySchema, item, join(path, key), root, depth + 1);
    if (mismatch !== undefined) return mismatch;
  }
  return undefined;
}

function resolve(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith('#/') || typeof root === 'boolean') return true;
  let target: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    target = isPlainObject(target) ? target[key] : undefined;
  }
  return typeof target === 'boolean' || isPlainObject(target) ? (target as JsonSchema) : true;
}

function hasType(name: unknown, value: unknown): boolean {
  switch (name) {
    case 'null':
      return value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isPlainObject(value);
    default:
      return true;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function jsonEqual(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) return false;
  return JSON.stringify(left) === JSON.stringify(right);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'number' && !Number.isInteger(value)) return `the number ${value}`;
  if (typeof value === 'number') return `the integer ${value}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
