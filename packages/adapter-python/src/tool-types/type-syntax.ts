/**
 * A small TypeScript type syntax tree and its printer, for the generated tools module: the mapping
 * from JSON Schema builds trees, and this file alone decides parentheses, quoting, TSDoc and where
 * lines break, so the output is the same for the same input and reads as hand-formatted code
 * (2-space indent, single quotes, an object on one line when it fits in `lineWidth` and has no
 * TSDoc inside).
 */
import { quoteString } from './typescript-literal.js';

export type TypeNode =
  | { kind: 'keyword'; name: 'string' | 'number' | 'boolean' | 'null' | 'undefined' | 'unknown' | 'never' }
  | { kind: 'reference'; name: string }
  | { kind: 'literal'; value: string | number | boolean }
  | { kind: 'array'; element: TypeNode }
  | { kind: 'tuple'; elements: TupleElement[]; rest?: TypeNode }
  | { kind: 'object'; members: PropertyMember[]; index?: TypeNode }
  /** `{ [key in Keys]?: Value }`: an object whose keys are limited to `keys` (a union of literals). */
  | { kind: 'mapped'; keys: TypeNode; value: TypeNode }
  | { kind: 'union'; members: TypeNode[] }
  | { kind: 'intersection'; members: TypeNode[] };

export interface TupleElement {
  type: TypeNode;
  optional: boolean;
}

export interface PropertyMember {
  name: string;
  type: TypeNode;
  optional: boolean;
  readonly: boolean;
  /** TSDoc lines (no comment markers). */
  doc: string[];
}

export const lineWidth = 100;
const step = '  ';

export const unknownType: TypeNode = { kind: 'keyword', name: 'unknown' };
export const neverType: TypeNode = { kind: 'keyword', name: 'never' };

export function keyword(name: Extract<TypeNode, { kind: 'keyword' }>['name']): TypeNode {
  return { kind: 'keyword', name };
}

const identifier = /^[A-Za-z_$][\w$]*$/;

/** A property name as written in a type or object literal: bare when it can be. */
export function propertyKey(name: string): string {
  return identifier.test(name) ? name : quoteString(name);
}

/**
 * A union without repeats (compared as printed), nested unions flattened, `never` dropped and
 * literals of a primitive that is a member too; a member `unknown` makes the whole union `unknown`.
 */
export function union(members: readonly TypeNode[]): TypeNode {
  const flat: TypeNode[] = [];
  const seen = new Set<string>();
  for (const member of members.flatMap((node) => (node.kind === 'union' ? node.members : [node]))) {
    if (member.kind === 'keyword' && member.name === 'unknown') return unknownType;
    if (member.kind === 'keyword' && member.name === 'never') continue;
    const text = printType(member, '', 0);
    if (seen.has(text)) continue;
    seen.add(text);
    flat.push(member);
  }
  // A literal next to its own primitive adds nothing: `string | 'a'` is `string`.
  const primitives = new Set(flat.flatMap((member) => (member.kind === 'keyword' ? [member.name] : [])));
  const kept = flat.filter((member) => member.kind !== 'literal' || !primitives.has(typeof member.value as 'string' | 'number' | 'boolean'));
  if (kept.length === 0) return neverType;
  return kept.length === 1 ? kept[0]! : { kind: 'union', members: kept };
}

/** An intersection of the members that constrain anything (`unknown` ones are left out). */
export function intersection(members: readonly TypeNode[]): TypeNode {
  const kept = members
    .flatMap((node) => (node.kind === 'intersection' ? node.members : [node]))
    .filter((node) => !(node.kind === 'keyword' && node.name === 'unknown'));
  if (kept.length === 0) return unknownType;
  return kept.length === 1 ? kept[0]! : { kind: 'intersection', members: kept };
}

/** A TSDoc comment at `indent`, or '' for no lines. */
export function docComment(lines: readonly string[], indent: string): string {
  const text = lines.map((line) => line.replaceAll('*/', '*\\/').trimEnd());
  if (text.length === 0) return '';
  if (text.length === 1) return `${indent}/** ${text[0]} */\n`;
  return `${indent}/**\n${text.map((line) => (line === '' ? `${indent} *` : `${indent} * ${line}`)).join('\n')}\n${indent} */\n`;
}

function hasDoc(node: TypeNode): boolean {
  switch (node.kind) {
    case 'object':
      return node.members.some((member) => member.doc.length > 0 || hasDoc(member.type)) || (node.index !== undefined && hasDoc(node.index));
    case 'mapped':
      return hasDoc(node.value);
    case 'array':
      return hasDoc(node.element);
    case 'tuple':
      return node.elements.some((element) => hasDoc(element.type)) || (node.rest !== undefined && hasDoc(node.rest));
    case 'union':
    case 'intersection':
      return node.members.some(hasDoc);
    default:
      return false;
  }
}

function needsParentheses(node: TypeNode, within: 'array' | 'intersection'): boolean {
  return node.kind === 'union' || (within === 'array' && node.kind === 'intersection');
}

function wrapped(node: TypeNode, within: 'array' | 'intersection', indent: string, used: number): string {
  return needsParentheses(node, within) ? `(${printType(node, indent, used + 1)})` : printType(node, indent, used);
}

/**
 * The type as TypeScript text. `indent` is the indentation of the line the type starts on, `used`
 * how many characters of that line come before it (for the fits-on-one-line decision).
 */
export function printType(node: TypeNode, indent: string, used: number): string {
  switch (node.kind) {
    case 'keyword':
      return node.name;
    case 'reference':
      return node.name;
    case 'literal':
      return typeof node.value === 'string' ? quoteString(node.value) : String(node.value);
    case 'array':
      return `${wrapped(node.element, 'array', indent, used)}[]`;
    case 'tuple': {
      const parts = node.elements.map((element) => `${printType(element.type, indent, used)}${element.optional ? '?' : ''}`);
      if (node.rest !== undefined) parts.push(`...${wrapped(node.rest, 'array', indent, used)}[]`);
      return `[${parts.join(', ')}]`;
    }
    case 'union': {
      const inline = node.members.map((member) => (member.kind === 'intersection' ? `(${printType(member, '', 0)})` : printType(member, '', 0))).join(' | ');
      if (!inline.includes('\n') && used + inline.length + 1 <= lineWidth) return inline;
      // One member per line, each after a leading `|` (the line before ends without a space).
      const inner = indent + step;
      return node.members.map((member) => `\n${inner}| ${member.kind === 'intersection' ? `(${printType(member, inner, inner.length + 3)})` : printType(member, inner, inner.length + 2)}`).join('');
    }
    case 'intersection':
      return node.members.map((member) => wrapped(member, 'intersection', indent, used)).join(' & ');
    case 'mapped':
      return printBlock([`[key in ${printType(node.keys, '', 0)}]?: `], [node.value], [[]], indent, used, hasDoc(node));
    case 'object': {
      const heads = node.members.map((member) => `${member.readonly ? 'readonly ' : ''}${propertyKey(member.name)}${member.optional ? '?' : ''}: `);
      const types = node.members.map((member) => member.type);
      const docs = node.members.map((member) => member.doc);
      if (node.index !== undefined) {
        heads.push('[key: string]: ');
        types.push(node.index);
        docs.push([]);
      }
      return printBlock(heads, types, docs, indent, used, hasDoc(node));
    }
  }
}

/** `head` (ending in a space) and the type after it, which may start on the next line. */
export function headed(head: string, type: string): string {
  return type.startsWith('\n') ? `${head.trimEnd()}${type}` : `${head}${type}`;
}

/** `{ head type; ... }` on one line when it fits and has no TSDoc, else one member per line. */
function printBlock(heads: string[], types: TypeNode[], docs: string[][], indent: string, used: number, documented: boolean): string {
  if (heads.length === 0) return '{}';
  if (!documented) {
    const inline = `{ ${heads.map((head, index) => `${head}${printType(types[index]!, '', 0)}`).join('; ')} }`;
    if (!inline.includes('\n') && used + inline.length + 1 <= lineWidth) return inline;
  }
  const inner = indent + step;
  const lines = heads.map((head, index) => `${docComment(docs[index]!, inner)}${inner}${headed(head, printType(types[index]!, inner, inner.length + head.length))};`);
  return `{\n${lines.join('\n')}\n${indent}}`;
}
