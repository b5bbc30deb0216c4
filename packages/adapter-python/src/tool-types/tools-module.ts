/**
 * The TypeScript module `npx snakepit types` writes: `type Tools` (per tool its `args`, `result`
 * and, for streaming tools, `chunk`: the type of each yielded item), one exported type per named
 * schema (`$defs`), and `toolSchemas`, each tool's whole parameters document for the pool's
 * `argumentSchemas` option.
 *
 * The text depends only on what the worker described: tools sorted by name, named types by name,
 * properties in the schema's order, no timestamps. Named types are shared across tools: equal
 * definitions (with everything they reference) become one type; different ones that share a name
 * are told apart by the first tool that uses them (`Hit`, `HitSearchNews`).
 */
import { argumentsType, isSchemaObject, schemaDoc, schemaToType, type Schema, type SchemaContext } from './schema-to-type.js';
import { docComment, headed, printType, unknownType, type PropertyMember, type TypeNode } from './type-syntax.js';
import { literal } from './typescript-literal.js';

/** A tool as the worker describes it (`DescribeTools`). */
export interface DescribedTool {
  readonly name: string;
  readonly description: string;
  readonly supportsStreaming: boolean;
  /** Its `parameters_json` document; anything but an object means untyped. */
  readonly parameters: unknown;
}

export interface ToolsModuleOptions {
  /** The command that writes the module, for its header (e.g. `npx snakepit types --adapter ... --out ...`). */
  command: string;
  /** The adapter class, for the TSDoc of `Tools`. */
  adapter: string;
}

export const extensionKeyword = 'x-snakepit';
const definitionKeywords = ['$defs', 'definitions'] as const;
/** Names the module itself uses: a definition called so gets a suffix. */
const reservedNames = new Set(['Tools', 'Uint8Array']);

function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/** JSON with sorted keys, except the members of `properties` (their order is printed). */
function stableJson(value: unknown, ordered = false): string {
  if (Array.isArray(value)) return `[${value.map((item) => stableJson(item)).join(',')}]`;
  if (!isSchemaObject(value)) return JSON.stringify(value ?? null);
  const keys = Object.keys(value);
  if (!ordered) keys.sort(compareText);
  return `{${keys.map((key) => `${JSON.stringify(key)}:${stableJson(value[key], !ordered && key === 'properties')}`).join(',')}}`;
}

/** `Hit`, `pkg.mod.Hit` → `PkgModHit`, `Hit-2` → `Hit2`: an identifier in PascalCase. */
export function typeName(key: string): string {
  const words = key.split(/[^A-Za-z0-9$]+/).filter((word) => word !== '');
  let name = words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
  if (name === '') name = 'Type';
  if (/^[0-9]/.test(name)) name = `T${name}`;
  return reservedNames.has(name) ? `${name}Type` : name;
}

/** The key of `#/$defs/KEY` (or `#/definitions/KEY`), JSON-pointer escapes undone. */
function definitionKey(ref: string): { keyword: (typeof definitionKeywords)[number]; key: string } | undefined {
  const match = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
  if (match === null) return undefined;
  let key: string;
  try {
    key = decodeURIComponent(match[2]!);
  } catch {
    key = match[2]!;
  }
  return { keyword: match[1] as (typeof definitionKeywords)[number], key: key.replaceAll('~1', '/').replaceAll('~0', '~') };
}

function collectRefs(value: unknown, into: string[]): void {
  if (Array.isArray(value)) for (const item of value) collectRefs(item, into);
  else if (isSchemaObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') into.push(item);
      else collectRefs(item, into);
    }
  }
}

interface Definition {
  keyword: (typeof definitionKeywords)[number];
  key: string;
  schema: unknown;
}

/** One tool's schema document and what its definitions are called in the module. */
class ToolDocument implements SchemaContext {
  /** `keyword/key` → exported type name. */
  readonly names = new Map<string, string>();

  constructor(
    readonly tool: DescribedTool,
    readonly document: Schema | undefined,
  ) {}

  definitions(): Definition[] {
    const found: Definition[] = [];
    for (const keyword of definitionKeywords) {
      const container = this.document?.[keyword];
      if (!isSchemaObject(container)) continue;
      for (const key of Object.keys(container).sort(compareText)) found.push({ keyword, key, schema: container[key] });
    }
    return found;
  }

  definition(keyword: string, key: string): unknown {
    const container = this.document?.[keyword];
    return isSchemaObject(container) && Object.hasOwn(container, key) ? container[key] : undefined;
  }

  /** Equal for definitions that are equal together with every definition they reach. */
  fingerprint(start: Definition): string {
    const reached = new Map<string, unknown>();
    const pending = [`${start.keyword}/${start.key}`];
    while (pending.length > 0) {
      const id = pending.pop()!;
      if (reached.has(id)) continue;
      const slash = id.indexOf('/');
      const schema = this.definition(id.slice(0, slash), id.slice(slash + 1));
      reached.set(id, schema);
      const refs: string[] = [];
      collectRefs(schema, refs);
      for (const ref of refs) {
        const target = definitionKey(ref);
        if (target !== undefined && this.definition(target.keyword, target.key) !== undefined) pending.push(`${target.keyword}/${target.key}`);
      }
    }
    const closure = [...reached.entries()].sort(([left], [right]) => compareText(left, right));
    return stableJson([`${start.keyword}/${start.key}`, closure]);
  }

  reference(ref: string): string | undefined {
    const target = definitionKey(ref);
    return target === undefined ? undefined : this.names.get(`${target.keyword}/${target.key}`);
  }
}

interface NamedType {
  name: string;
  schema: unknown;
  /** The document whose names its references use. */
  owner: ToolDocument;
}

/** Gives every distinct definition of every tool its exported name. */
function nameDefinitions(documents: readonly ToolDocument[]): NamedType[] {
  // By base name, the distinct variants in order of first use (tools by name, keys by name).
  const variants = new Map<string, Array<{ fingerprint: string; users: Array<{ document: ToolDocument; id: string }>; schema: unknown }>>();
  for (const document of documents) {
    for (const definition of document.definitions()) {
      const base = typeName(definition.key);
      const fingerprint = document.fingerprint(definition);
      const list = variants.get(base) ?? [];
      variants.set(base, list);
      let variant = list.find((candidate) => candidate.fingerprint === fingerprint);
      if (variant === undefined) {
        variant = { fingerprint, users: [], schema: definition.schema };
        list.push(variant);
      }
      variant.users.push({ document, id: `${definition.keyword}/${definition.key}` });
    }
  }
  const taken = new Set<string>([...reservedNames, ...variants.keys()]);
  const named: NamedType[] = [];
  for (const base of [...variants.keys()].sort(compareText)) {
    variants.get(base)!.forEach((variant, position) => {
      let name = base;
      if (position > 0) {
        const preferred = `${base}${typeName(variant.users[0]!.document.tool.name)}`;
        name = preferred;
        for (let counter = 2; taken.has(name); counter += 1) name = `${preferred}${counter}`;
        taken.add(name);
      }
      for (const user of variant.users) user.document.names.set(user.id, name);
      named.push({ name, schema: variant.schema, owner: variant.users[0]!.document });
    });
  }
  return named.sort((left, right) => compareText(left.name, right.name));
}

function member(name: string, type: TypeNode, doc: string[]): PropertyMember {
  return { name, type, optional: false, readonly: false, doc };
}

/** The `Tools` entry of one tool: `{ args; result; chunk? }`. */
function toolEntry(document: ToolDocument): PropertyMember {
  const { tool } = document;
  const root = document.document;
  const extension = isSchemaObject(root?.[extensionKeyword]) ? (root[extensionKeyword] as Schema) : {};
  const members = [
    member('args', root === undefined ? argumentsType(true, document) : argumentsType(root, document), []),
    member('result', 'result' in extension ? schemaToType(extension.result, document) : unknownType, schemaDoc(extension.result).filter(notDefault)),
  ];
  if (tool.supportsStreaming) {
    members.push(member('chunk', 'chunk' in extension ? schemaToType(extension.chunk, document) : unknownType, schemaDoc(extension.chunk).filter(notDefault)));
  }
  const description = tool.description.trim() !== '' ? tool.description : typeof root?.description === 'string' ? root.description : '';
  return member(tool.name, { kind: 'object', members }, summary(description));
}

/** Where a docstring's sections start (Google, NumPy, Sphinx): what follows is per parameter. */
const docstringSection = /^(?:(?:Args|Arguments|Parameters|Params|Keyword Args|Returns?|Yields?|Raises|Examples?|Notes?)\s*:\s*$|:(?:param|type|returns?|rtype|yields?|raises?)\b|-{3,}\s*$)/;

/**
 * The lines of a tool's description up to its docstring sections, which the schema already gives
 * to each parameter, the result and the chunk. (A NumPy heading is the line above its dashes.)
 */
function summary(description: string): string[] {
  const lines = description.trim().split(/\r?\n/);
  let end = lines.findIndex((line) => docstringSection.test(line.trim()));
  if (end > 0 && /^-{3,}\s*$/.test(lines[end]!.trim())) end -= 1;
  const kept = (end === -1 ? lines : lines.slice(0, end)).map((line) => line.trimEnd());
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  return kept.length === 1 && kept[0] === '' ? [] : kept;
}

function notDefault(line: string): boolean {
  return !line.startsWith('@default ');
}

/** The whole module's text. */
export function toolsModule(tools: readonly DescribedTool[], options: ToolsModuleOptions): string {
  const sorted = [...tools].sort((left, right) => compareText(left.name, right.name));
  const documents = sorted.map((tool) => new ToolDocument(tool, isSchemaObject(tool.parameters) ? tool.parameters : undefined));
  const namedTypes = nameDefinitions(documents);

  const out: string[] = [];
  out.push("// Generated by `snakepit types` from the adapter's tools: do not edit. Regenerate after changing");
  out.push('// them (in CI, add --check to fail when this file is stale):');
  out.push(`//   ${options.command}`);
  out.push('');
  out.push(
    docComment(
      [
        `The tools of \`${options.adapter}\`.`,
        '`createPool<Tools>(...)` type-checks calls to them. Per tool: `args` (the arguments object),',
        '`result` (what `execute` resolves with) and, for streaming tools, `chunk` (each yielded item).',
      ],
      '',
    ) + `export type Tools = ${printType({ kind: 'object', members: documents.map(toolEntry) }, '', 'export type Tools = '.length)};`,
  );
  for (const named of namedTypes) {
    out.push('');
    const head = `export type ${named.name} = `;
    const description = isSchemaObject(named.schema) && typeof named.schema.description === 'string' ? named.schema.description.trim() : '';
    const doc = description === '' ? [] : description.split(/\r?\n/);
    out.push(`${docComment(doc, '')}${headed(head, printType(schemaToType(named.schema, named.owner), '', head.length))};`);
  }
  out.push('');
  const schemas: Record<string, unknown> = {};
  for (const document of documents) if (document.document !== undefined) schemas[document.tool.name] = document.document;
  out.push(
    docComment(
      [
        "Each tool's JSON Schema document: its arguments, and the result and chunk schemas under",
        '`x-snakepit`. Pass it as the pool option `argumentSchemas` to check arguments before they are sent.',
      ],
      '',
    ) + `export const toolSchemas = ${literal(schemas, '', 'export const toolSchemas = '.length)} as const;`,
  );
  return `${out.join('\n')}\n`;
}
