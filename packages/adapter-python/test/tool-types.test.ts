/**
 * JSON Schema → TypeScript for `snakepit types`: every construct the Python side writes (and the
 * JSON Schema around it), the module's layout and names, and that the text is the same whatever
 * order the tools come in. One test compiles a module with every construct, so what is printed
 * is also valid TypeScript under `strict`.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { schemaToType, argumentsType, type SchemaContext } from '../src/tool-types/schema-to-type.js';
import { printType } from '../src/tool-types/type-syntax.js';
import { toolsModule, typeName, type DescribedTool } from '../src/tool-types/tools-module.js';
import { literal, quoteString } from '../src/tool-types/typescript-literal.js';

const defs: SchemaContext = { reference: (ref) => (ref.startsWith('#/$defs/') ? ref.slice('#/$defs/'.length) : undefined) };

function type(schema: unknown): string {
  return printType(schemaToType(schema, defs), '', 0);
}

function args(schema: unknown): string {
  return printType(argumentsType(schema, defs), '', 0);
}

const dialect = 'https://json-schema.org/draft/2020-12/schema';

function tool(name: string, parameters: unknown, extra: Partial<DescribedTool> = {}): DescribedTool {
  return { name, description: '', supportsStreaming: false, parameters, ...extra };
}

function document(properties: Record<string, unknown>, required: string[], result: unknown, more: Record<string, unknown> = {}) {
  return { $schema: dialect, type: 'object', properties, required, additionalProperties: false, 'x-snakepit': { version: 1, result }, ...more };
}

describe('schema → type', () => {
  it('maps the JSON types', () => {
    expect(type({ type: 'integer' })).toBe('number');
    expect(type({ type: 'number' })).toBe('number');
    expect(type({ type: 'string', format: 'date-time' })).toBe('string');
    expect(type({ type: 'boolean' })).toBe('boolean');
    expect(type({ type: 'null' })).toBe('null');
    expect(type({ type: ['string', 'null'] })).toBe('string | null');
  });

  it('maps {} and true to unknown, false to never, and what it does not understand to unknown', () => {
    expect(type({})).toBe('unknown');
    expect(type(true)).toBe('unknown');
    expect(type(false)).toBe('never');
    expect(type({ type: 'decimal' })).toBe('unknown');
    expect(type({ description: 'anything' })).toBe('unknown');
    expect(type({ $ref: 'https://example.com/other.json' })).toBe('unknown');
  });

  it('maps the bytes marker to Uint8Array, also inside unions and arrays', () => {
    expect(type({ 'x-snakepit-type': 'bytes' })).toBe('Uint8Array');
    expect(type({ anyOf: [{ 'x-snakepit-type': 'bytes' }, { type: 'null' }] })).toBe('Uint8Array | null');
    expect(type({ type: 'array', items: { 'x-snakepit-type': 'bytes' } })).toBe('Uint8Array[]');
  });

  it('maps enum and const to literal unions, escaping strings', () => {
    expect(type({ enum: ['small', 'large'] })).toBe("'small' | 'large'");
    expect(type({ enum: [1, 2.5, -3, true, null] })).toBe('1 | 2.5 | -3 | true | null');
    expect(type({ const: "it's" })).toBe("'it\\'s'");
    expect(type({ const: [1, 'a'] })).toBe("[1, 'a']");
    expect(type({ const: { mode: 'fast' } })).toBe("{ mode: 'fast' }");
    // The literal is narrower than the type beside it.
    expect(type({ type: 'string', enum: ['a'] })).toBe("'a'");
  });

  it('maps anyOf and oneOf to unions (without repeats), allOf to intersections', () => {
    expect(type({ anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'number' }] })).toBe('string | number');
    expect(type({ oneOf: [{ const: 'a' }, { const: 'b' }] })).toBe("'a' | 'b'");
    expect(type({ anyOf: [{ type: 'string' }, {}] })).toBe('unknown');
    expect(type({ allOf: [{ $ref: '#/$defs/A' }, { $ref: '#/$defs/B' }] })).toBe('A & B');
    expect(type({ allOf: [{ anyOf: [{ $ref: '#/$defs/A' }, { type: 'null' }] }, { $ref: '#/$defs/B' }] })).toBe('(A | null) & B');
  });

  it('leaves out literals that a primitive member already admits', () => {
    expect(type({ anyOf: [{ const: 'auto' }, { type: 'string' }, { enum: [1, 2] }] })).toBe("string | 1 | 2");
    expect(type({ anyOf: [{ type: 'integer' }, { enum: [1, 2] }, { const: true }, { type: 'boolean' }] })).toBe('number | boolean');
  });

  it('puts the members of a long union on lines of their own', () => {
    const members = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliett'].map((name) => ({ const: `${name}-mode` }));
    const text = type({ type: 'object', properties: { mode: { anyOf: members } }, required: ['mode'], additionalProperties: false });
    expect(text).toBe(`{\n  mode:\n${members.map((member) => `    | '${member.const}'`).join('\n')};\n}`);
  });

  it('maps arrays, sets and tuples', () => {
    expect(type({ type: 'array', items: { type: 'string' } })).toBe('string[]');
    expect(type({ type: 'array' })).toBe('unknown[]');
    expect(type({ type: 'array', items: { type: 'integer' }, uniqueItems: true })).toBe('number[]');
    expect(type({ type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'null' }] } })).toBe('(string | null)[]');
    expect(type({ type: 'array', items: { type: 'array', items: { type: 'number' } } })).toBe('number[][]');
    // tuple[int, str], tuple[()], and open or partly optional tuples.
    expect(type({ type: 'array', prefixItems: [{ type: 'integer' }, { type: 'string' }], items: false, minItems: 2 })).toBe('[number, string]');
    expect(type({ type: 'array', items: false })).toBe('[]');
    expect(type({ type: 'array', prefixItems: [{ type: 'integer' }, { type: 'string' }], minItems: 1, items: { type: 'boolean' } })).toBe(
      '[number, string?, ...boolean[]]',
    );
    expect(type({ type: 'array', prefixItems: [{ type: 'integer' }], minItems: 1 })).toBe('[number, ...unknown[]]');
  });

  it('maps objects: required and optional keys, readOnly, additionalProperties as an index signature or nothing', () => {
    const properties = { a: { type: 'string' }, b: { type: 'integer' } };
    expect(type({ type: 'object', properties, required: ['a'], additionalProperties: false })).toBe('{ a: string; b?: number }');
    expect(type({ type: 'object', properties, required: ['a', 'b'] })).toBe('{ a: string; b: number; [key: string]: unknown }');
    expect(type({ type: 'object', properties: { id: { type: 'integer', readOnly: true } }, additionalProperties: false })).toBe('{ readonly id?: number }');
    // dict[str, T], dict, and a closed object without properties.
    expect(type({ type: 'object', additionalProperties: { type: 'number' } })).toBe('{ [key: string]: number }');
    expect(type({ type: 'object' })).toBe('{ [key: string]: unknown }');
    expect(type({ type: 'object', additionalProperties: false })).toBe('{ [key: string]: never }');
    // An index signature must admit the properties (and undefined for optional ones).
    expect(type({ type: 'object', properties, required: ['a'], additionalProperties: { type: 'boolean' } })).toBe(
      '{ a: string; b?: number; [key: string]: boolean | string | number | undefined }',
    );
    // Literal keys (dict[Literal['x', 'y'], int]).
    expect(type({ type: 'object', propertyNames: { enum: ['x', 'y'] }, additionalProperties: { type: 'integer' } })).toBe(
      "{ [key in 'x' | 'y']?: number }",
    );
    // Keys that are not identifiers are quoted.
    expect(type({ type: 'object', properties: { 'content-type': { type: 'string' }, $id: {} }, required: ['content-type', '$id'], additionalProperties: false })).toBe(
      "{ 'content-type': string; $id: unknown }",
    );
  });

  it('writes descriptions, defaults and deprecation of properties as TSDoc, one member per line', () => {
    const schema = {
      type: 'object',
      properties: {
        text: { type: 'string', description: 'What to embed.\nOne paragraph at most.' },
        top_k: { type: 'integer', default: 5 },
        model: { enum: ['small', 'large'], default: 'small', deprecated: true },
        where: { anyOf: [{ type: 'object' }, { type: 'null' }], default: null },
      },
      required: ['text'],
      additionalProperties: false,
    };
    expect(type(schema)).toBe(
      [
        '{',
        '  /**',
        '   * What to embed.',
        '   * One paragraph at most.',
        '   */',
        '  text: string;',
        '  /** @default 5 */',
        '  top_k?: number;',
        '  /**',
        "   * @default 'small'",
        '   * @deprecated',
        '   */',
        "  model?: 'small' | 'large';",
        '  /** @default null */',
        '  where?: { [key: string]: unknown } | null;',
        '}',
      ].join('\n'),
    );
    expect(type({ type: 'object', properties: { x: { description: 'ends a comment */ here' } }, additionalProperties: false })).toContain(
      '/** ends a comment *\\/ here */',
    );
  });

  it('breaks an object over lines when it does not fit on one', () => {
    const properties = Object.fromEntries(['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'].map((name) => [name, { type: 'string' }]));
    expect(type({ type: 'object', properties, additionalProperties: false })).toBe(
      `{\n${Object.keys(properties)
        .map((name) => `  ${name}?: string;`)
        .join('\n')}\n}`,
    );
  });

  it('types the arguments as an object, whatever the root says', () => {
    expect(args({ type: 'object', properties: {}, required: [], additionalProperties: false })).toBe('{ [key: string]: never }');
    expect(args({ type: 'object', properties: {}, required: [], additionalProperties: true })).toBe('{ [key: string]: unknown }');
    expect(args({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: { type: 'integer' } })).toBe(
      '{ n: number; [key: string]: number }',
    );
    expect(args({ type: 'string' })).toBe('{ [key: string]: unknown }');
    expect(args(true)).toBe('{ [key: string]: unknown }');
  });
});

describe('literals', () => {
  it('quotes strings with single quotes and escapes what must be', () => {
    expect(quoteString(`a'b\\c\n\u2028\u0001é`)).toBe(`'a\\'b\\\\c\\n\\u2028\\u0001é'`);
  });

  it('prints JSON as TypeScript: bare keys where possible, inline when it fits, else one entry per line', () => {
    expect(literal({ type: 'integer', default: 5, 'x-snakepit': { version: 1 } })).toBe(
      "{ type: 'integer', default: 5, 'x-snakepit': { version: 1 } }",
    );
    expect(literal(JSON.parse('{"__proto__": {"type": "string"}}'))).toBe("{ ['__proto__']: { type: 'string' } }");
    expect(literal({ long: 'x'.repeat(120), list: [1, 2] })).toBe(`{\n  long: '${'x'.repeat(120)}',\n  list: [1, 2],\n}`);
    expect(literal([])).toBe('[]');
    expect(literal({})).toBe('{}');
  });
});

describe('type names', () => {
  it('turns definition keys into PascalCase identifiers, away from the names the module uses', () => {
    expect(typeName('Hit')).toBe('Hit');
    expect(typeName('search_result')).toBe('SearchResult');
    expect(typeName('pkg.models.Hit')).toBe('PkgModelsHit');
    expect(typeName('Hit-2')).toBe('Hit2');
    expect(typeName('2d')).toBe('T2d');
    expect(typeName('Tools')).toBe('ToolsType');
    expect(typeName('Uint8Array')).toBe('Uint8ArrayType');
  });
});

const hit = { title: 'Hit', type: 'object', properties: { id: { type: 'integer' }, score: { type: 'number' } }, required: ['id', 'score'], additionalProperties: false };
const tree = {
  title: 'Tree',
  type: 'object',
  properties: { label: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/Tree' } } },
  required: ['label', 'children'],
  additionalProperties: false,
};

const catalog: DescribedTool[] = [
  tool('search', document({ query: { type: 'string', description: 'Words.' }, top_k: { type: 'integer', default: 5 } }, ['query'], { type: 'array', items: { $ref: '#/$defs/Hit' } }, { $defs: { Hit: hit } }), {
    description: 'Finds things.\n\nArgs:\n    query: Words.\n',
  }),
  tool('lookup', document({ id: { type: 'integer' } }, ['id'], { $ref: '#/$defs/Hit' }, { $defs: { Hit: hit } })),
  tool(
    'news',
    document({}, [], { $ref: '#/$defs/Hit' }, { $defs: { Hit: { ...hit, properties: { headline: { type: 'string' } }, required: ['headline'] } } }),
  ),
  tool('tree', document({}, [], { $ref: '#/$defs/Tree' }, { $defs: { Tree: tree } })),
  tool(
    'count',
    { ...document({ to: { type: 'integer' } }, ['to'], {}), 'x-snakepit': { version: 1, result: { type: 'array', items: { type: 'integer' } }, chunk: { type: 'integer', description: 'The next number.' } } },
    { supportsStreaming: true },
  ),
  tool('blob', document({ data: { 'x-snakepit-type': 'bytes' } }, ['data'], { 'x-snakepit-type': 'bytes' })),
  tool('legacy', undefined, { supportsStreaming: true }),
  tool('odd-name', document({}, [], { type: 'null' })),
];

describe('the tools module', () => {
  const text = toolsModule(catalog, { command: 'npx snakepit types --adapter app.Tools --out src/tools.ts', adapter: 'app.Tools' });

  it('starts with a header naming the command, and has no timestamp', () => {
    expect(text.split('\n').slice(0, 3)).toEqual([
      "// Generated by `snakepit types` from the adapter's tools: do not edit. Regenerate after changing",
      '// them (in CI, add --check to fail when this file is stale):',
      '//   npx snakepit types --adapter app.Tools --out src/tools.ts',
    ]);
    expect(text).not.toMatch(/20\d\d-\d\d-\d\d/);
  });

  it('is the same whatever order the tools come in', () => {
    expect(toolsModule([...catalog].reverse(), { command: 'npx snakepit types --adapter app.Tools --out src/tools.ts', adapter: 'app.Tools' })).toBe(text);
  });

  it('lists tools sorted by name with args, result and, for streaming tools, chunk', () => {
    const names = [...text.slice(0, text.indexOf('export type Hit')).matchAll(/^ {2}(\S+): \{/gm)].map((match) => match[1]);
    expect(names).toEqual(['blob', 'count', 'legacy', 'lookup', 'news', "'odd-name'", 'search', 'tree']);
    expect(text).toContain('  blob: { args: { data: Uint8Array }; result: Uint8Array };');
    expect(text).toContain(
      ['  count: {', '    args: { to: number };', '    result: number[];', '    /** The next number. */', '    chunk: number;', '  };'].join('\n'),
    );
    expect(text).toContain("  'odd-name': { args: { [key: string]: never }; result: null };");
  });

  it('describes a tool without a schema as untyped', () => {
    expect(text).toContain('  legacy: { args: { [key: string]: unknown }; result: unknown; chunk: unknown };');
    expect(text).not.toMatch(/^ {2}legacy: \{$/m);
  });

  it('keeps the summary of the description for the tool and gives parameter docs to the parameters', () => {
    expect(text).toContain(
      [
        '  /** Finds things. */',
        '  search: {',
        '    args: {',
        '      /** Words. */',
        '      query: string;',
        '      /** @default 5 */',
        '      top_k?: number;',
        '    };',
        '    result: Hit[];',
        '  };',
      ].join('\n'),
    );
  });

  it('exports one type per distinct definition: shared when equal, told apart by tool when not, recursive by name', () => {
    expect(text).toContain('  lookup: { args: { id: number }; result: Hit };');
    expect(text).toContain('  news: { args: { [key: string]: never }; result: HitNews };');
    expect(text).toContain('export type Hit = { id: number; score: number };');
    expect(text).toContain('export type HitNews = { headline: string };');
    expect(text).toContain('export type Tree = { label: string; children: Tree[] };');
    const exported = [...text.matchAll(/^export type (\w+)/gm)].map((match) => match[1]);
    expect(exported).toEqual(['Tools', 'Hit', 'HitNews', 'Tree']);
  });

  it("exports each tool's whole document as toolSchemas, tools without one left out", () => {
    const start = text.indexOf('export const toolSchemas = {');
    expect(start).toBeGreaterThan(0);
    expect(text.trimEnd().endsWith('} as const;')).toBe(true);
    const source = text.slice(start + 'export const toolSchemas = '.length, text.lastIndexOf(' as const;'));
    const schemas = new Function(`return (${source});`)() as Record<string, unknown>;
    expect(Object.keys(schemas)).toEqual(['blob', 'count', 'lookup', 'news', 'odd-name', 'search', 'tree']);
    expect(schemas.search).toEqual(catalog[0]!.parameters);
  });

  it('compiles under strict, with every construct in it', () => {
    const rich = document(
      {
        text: { type: 'string' },
        mode: { enum: ['a', 'b'], default: 'a' },
        pair: { type: 'array', prefixItems: [{ type: 'integer' }, { type: 'string' }], items: false, minItems: 2 },
        rest: { type: 'array', prefixItems: [{ type: 'integer' }], minItems: 0, items: { type: 'string' } },
        maybe: { anyOf: [{ $ref: '#/$defs/Json' }, { type: 'null' }], default: null },
        counts: { type: 'object', additionalProperties: { type: 'integer' } },
        axes: { type: 'object', propertyNames: { enum: ['x', 'y'] }, additionalProperties: { type: 'number' } },
        both: { allOf: [{ $ref: '#/$defs/Hit' }, { type: 'object', properties: { extra: { type: 'boolean' } } }] },
        data: { 'x-snakepit-type': 'bytes' },
        'odd key': { const: { nested: [1, 'two', null] } },
      },
      ['text', 'data'],
      { anyOf: [{ $ref: '#/$defs/Hit' }, { type: 'array', items: { $ref: '#/$defs/Json' } }] },
      {
        additionalProperties: { type: 'string' },
        $defs: {
          Hit: hit,
          Json: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }, { type: 'array', items: { $ref: '#/$defs/Json' } }, { type: 'object', additionalProperties: { $ref: '#/$defs/Json' } }] },
        },
      },
    );
    const module = toolsModule([...catalog, tool('rich', rich, { supportsStreaming: true })], { command: 'npx snakepit types', adapter: 'app.Tools' });
    const usage = [
      "import { toolSchemas, type Tools } from './tools.js';",
      "type Catalog = { [tool: string]: { args: object; result: unknown; chunk?: unknown } };",
      'const tools: Catalog = {} as Tools;',
      "type Schemas = { readonly [tool: string]: { readonly [keyword: string]: unknown } | boolean };",
      'const schemas: Schemas = toolSchemas;',
      "const ok: Tools['rich']['args'] = { text: 'x', data: new Uint8Array(), pair: [1, 'a'], axes: { x: 1 }, maybe: { a: [1, null] }, extra: 'yes' };",
      // Each @ts-expect-error must meet its error, or the compile fails.
      "// @ts-expect-error: extra keys are strings (or a property's type)\nconst wrong: Tools['rich']['args'] = { text: 'x', data: new Uint8Array(), other: Symbol() };",
      "// @ts-expect-error: no arguments\nconst none: Tools['news']['args'] = { x: 1 };",
      'void [tools, schemas, ok, wrong, none];',
    ].join('\n');
    const folder = mkdtempSync(path.join(os.tmpdir(), 'snakepit-types-'));
    try {
      writeFileSync(path.join(folder, 'tools.ts'), module);
      writeFileSync(path.join(folder, 'usage.ts'), usage);
      const program = ts.createProgram([path.join(folder, 'usage.ts')], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        types: [],
        noUnusedLocals: true,
        exactOptionalPropertyTypes: true,
        skipLibCheck: true,
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      expect(diagnostics).toEqual([]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
