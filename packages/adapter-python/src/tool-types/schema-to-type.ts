/**
 * JSON Schema (draft 2020-12, as Python workers describe their tools) → TypeScript type trees.
 *
 * | schema | type |
 * |---|---|
 * | `integer`, `number` / `string` / `boolean` / `null` | `number` / `string` / `boolean` / `null` |
 * | `{"x-snakepit-type": "bytes"}` | `Uint8Array` |
 * | `enum`, `const` | a union of literal types |
 * | `anyOf`, `oneOf`, `type: [...]` / `allOf` | a union / an intersection |
 * | `array` + `items` / `prefixItems` (+ `minItems`, `items: false`) | `T[]` / a tuple (`[A, B?, ...C[]]`) |
 * | `object` + `properties`, `required` | properties (optional unless required; `readOnly` → `readonly`) |
 * | `additionalProperties` absent or `true` / a schema / `false` | `[key: string]: unknown` / `: T` / none |
 * | `propertyNames` with `enum`/`const` (no properties) | `{ [key in 'a' \| 'b']?: T }` |
 * | `$ref` into `$defs` | the name of the exported type (resolved by the caller) |
 * | `{}`, `true`, anything not understood | `unknown`; `false` → `never` |
 *
 * An index signature must admit every property's type, so next to properties it is widened to
 * their union. `unknown` is the answer whenever a schema says nothing TypeScript can hold: it
 * accepts every argument and makes a result something to check, never a wrong promise.
 */
import {
  intersection,
  keyword,
  neverType,
  union,
  unknownType,
  type PropertyMember,
  type TupleElement,
  type TypeNode,
} from './type-syntax.js';
import { literal } from './typescript-literal.js';

export type Schema = { readonly [keyword: string]: unknown };

export interface SchemaContext {
  /** The type name a `$ref` stands for, or undefined when it points nowhere this module knows. */
  reference(ref: string): string | undefined;
}

/** Deeper than this, a schema is not followed further (`unknown`). */
const maxDepth = 64;

export const bytesType: TypeNode = { kind: 'reference', name: 'Uint8Array' };

export function isSchemaObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The TSDoc lines a schema contributes where it is used: its description, default, deprecation. */
export function schemaDoc(schema: unknown): string[] {
  if (!isSchemaObject(schema)) return [];
  const lines: string[] = [];
  if (typeof schema.description === 'string' && schema.description.trim() !== '') lines.push(...schema.description.trim().split(/\r?\n/));
  if ('default' in schema) lines.push(...`@default ${literal(schema.default)}`.split('\n'));
  if (schema.deprecated === true) lines.push('@deprecated');
  return lines;
}

/** The TypeScript type of values `schema` admits. */
export function schemaToType(schema: unknown, context: SchemaContext, depth = 0): TypeNode {
  if (schema === false) return neverType;
  if (!isSchemaObject(schema) || depth > maxDepth) return unknownType;
  if (schema['x-snakepit-type'] === 'bytes') return bytesType;
  const next = (child: unknown) => schemaToType(child, context, depth + 1);
  const parts: TypeNode[] = [];
  if (typeof schema.$ref === 'string') {
    const name = context.reference(schema.$ref);
    parts.push(name === undefined ? unknownType : { kind: 'reference', name });
  }
  if ('const' in schema) parts.push(literalType(schema.const));
  else if (Array.isArray(schema.enum)) parts.push(union(schema.enum.map(literalType)));
  else {
    const base = baseType(schema, context, depth);
    if (base !== undefined) parts.push(base);
  }
  for (const keywordName of ['anyOf', 'oneOf'] as const) {
    const options = schema[keywordName];
    if (Array.isArray(options) && options.length > 0) parts.push(union(options.map(next)));
  }
  if (Array.isArray(schema.allOf)) parts.push(...schema.allOf.map(next));
  return intersection(parts);
}

/**
 * The type of a tool's arguments: always an object type (what the pool's `args` must be); a root
 * that is not an object schema admits any keys.
 */
export function argumentsType(schema: unknown, context: SchemaContext): TypeNode {
  if (isSchemaObject(schema) && (schema.type === 'object' || (schema.type === undefined && looksLikeObject(schema)))) {
    return objectType(schema, context, 0);
  }
  return { kind: 'object', members: [], index: unknownType };
}

function looksLikeObject(schema: Schema): boolean {
  return ['properties', 'additionalProperties', 'patternProperties', 'propertyNames', 'required'].some((name) => name in schema);
}

function looksLikeArray(schema: Schema): boolean {
  return 'items' in schema || 'prefixItems' in schema;
}

function baseType(schema: Schema, context: SchemaContext, depth: number): TypeNode | undefined {
  const type = schema.type;
  if (Array.isArray(type)) return union(type.map((name) => namedType(name, schema, context, depth)));
  if (typeof type === 'string') return namedType(type, schema, context, depth);
  if (looksLikeObject(schema)) return objectType(schema, context, depth);
  if (looksLikeArray(schema)) return arrayType(schema, context, depth);
  return undefined;
}

function namedType(name: unknown, schema: Schema, context: SchemaContext, depth: number): TypeNode {
  switch (name) {
    case 'string':
      return keyword('string');
    case 'integer':
    case 'number':
      return keyword('number');
    case 'boolean':
      return keyword('boolean');
    case 'null':
      return keyword('null');
    case 'object':
      return objectType(schema, context, depth);
    case 'array':
      return arrayType(schema, context, depth);
    default:
      return unknownType;
  }
}

/** A JSON value as the type of exactly that value. */
function literalType(value: unknown): TypeNode {
  if (value === null) return keyword('null');
  if (typeof value === 'string' || typeof value === 'boolean') return { kind: 'literal', value };
  if (typeof value === 'number') return Number.isFinite(value) ? { kind: 'literal', value } : unknownType;
  if (Array.isArray(value)) return { kind: 'tuple', elements: value.map((item) => ({ type: literalType(item), optional: false })) };
  if (isSchemaObject(value)) {
    return {
      kind: 'object',
      members: Object.entries(value).map(([name, item]) => ({ name, type: literalType(item), optional: false, readonly: false, doc: [] })),
    };
  }
  return unknownType;
}

function objectType(schema: Schema, context: SchemaContext, depth: number): TypeNode {
  const next = (child: unknown) => schemaToType(child, context, depth + 1);
  const properties = isSchemaObject(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : []);
  const members: PropertyMember[] = Object.entries(properties).map(([name, property]) => ({
    name,
    type: next(property),
    optional: !required.has(name),
    readonly: isSchemaObject(property) && property.readOnly === true,
    doc: schemaDoc(property),
  }));

  // Beyond the properties: additionalProperties (absent means any), and patternProperties.
  const additional = schema.additionalProperties;
  const extras: TypeNode[] = additional === false ? [] : [additional === undefined ? unknownType : next(additional)];
  if (isSchemaObject(schema.patternProperties)) extras.push(...Object.values(schema.patternProperties).map(next));
  let index = extras.length === 0 ? undefined : union(extras);
  if (index !== undefined && index.kind === 'keyword' && index.name === 'never') index = undefined;

  for (const name of required) {
    if (!Object.hasOwn(properties, name)) members.push({ name, type: index ?? unknownType, optional: false, readonly: false, doc: [] });
  }

  const keys = propertyNameLiterals(schema.propertyNames);
  if (keys !== undefined && members.length === 0 && index !== undefined) return { kind: 'mapped', keys, value: index };

  if (index !== undefined && !(index.kind === 'keyword' && index.name === 'unknown') && members.length > 0) {
    const optional = members.some((member) => member.optional) ? [keyword('undefined')] : [];
    index = union([index, ...members.map((member) => member.type), ...optional]);
  }
  // A closed object without properties: no key at all may be given.
  if (members.length === 0 && index === undefined) index = neverType;
  return { kind: 'object', members, ...(index !== undefined ? { index } : {}) };
}

/** The key union of `propertyNames: {enum: [...]}` / `{const: ...}` when every key is a string. */
function propertyNameLiterals(schema: unknown): TypeNode | undefined {
  if (!isSchemaObject(schema)) return undefined;
  const values = Array.isArray(schema.enum) ? schema.enum : 'const' in schema ? [schema.const] : undefined;
  if (values === undefined || values.length === 0 || !values.every((value) => typeof value === 'string')) return undefined;
  return union(values.map((value) => ({ kind: 'literal', value })));
}

function arrayType(schema: Schema, context: SchemaContext, depth: number): TypeNode {
  const next = (child: unknown) => schemaToType(child, context, depth + 1);
  if (Array.isArray(schema.prefixItems)) {
    const minimum = typeof schema.minItems === 'number' ? schema.minItems : 0;
    const elements: TupleElement[] = schema.prefixItems.map((item, position) => ({ type: next(item), optional: position >= minimum }));
    if (schema.items === false) return { kind: 'tuple', elements };
    return { kind: 'tuple', elements, rest: schema.items === undefined ? unknownType : next(schema.items) };
  }
  if (schema.items === false) return { kind: 'tuple', elements: [] };
  return { kind: 'array', element: schema.items === undefined ? unknownType : next(schema.items) };
}
