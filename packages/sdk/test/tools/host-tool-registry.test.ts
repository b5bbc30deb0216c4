import { describe, expect, it } from 'vitest';
import { SnakepitError } from '../../src/errors.js';
import { createHostToolRegistry, type HostToolContext } from '../../src/tools/host-tool-registry.js';
import { failureOf } from '../../src/testing/failure-of.js';

function thrown(action: () => unknown): SnakepitError {
  try {
    action();
  } catch (error) {
    if (SnakepitError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a throw');
}


const noop = () => null;

describe('HostToolRegistry registration', () => {
  it.each([
    ['', 'empty'],
    ['a'.repeat(65), 'too_long'],
    ['-leading-dash', 'invalid_format'],
    ['_leading', 'invalid_format'],
    ['has space', 'invalid_format'],
    ['slash/name', 'invalid_format'],
    ['ünïcode', 'invalid_format'],
  ])('refuses the name %j with reason %s', (name, reason) => {
    const error = thrown(() => createHostToolRegistry().register(name, noop));
    expect(error.code).toBe('invalid_parameter');
    expect(error.details).toEqual({ key: 'name', reason });
  });

  it.each(['a', 'A9', 'embed.text', 'my-tool_v2', 'a'.repeat(64)])('accepts the name %j', (name) => {
    const registry = createHostToolRegistry();
    registry.register(name, noop);
    expect(registry.has(name)).toBe(true);
  });

  it('bounds metadata to 32 entries and 4 KiB', () => {
    const registry = createHostToolRegistry();
    const manyEntries = Object.fromEntries(Array.from({ length: 33 }, (_, index) => [`k${index}`, 'v']));
    expect(thrown(() => registry.register('a', noop, { metadata: manyEntries })).details).toEqual({
      key: 'metadata',
      reason: 'metadata_too_large',
    });
    expect(thrown(() => registry.register('b', noop, { metadata: { big: 'x'.repeat(4096) } })).details.reason).toBe(
      'metadata_too_large',
    );
    const thirtyTwo = Object.fromEntries(Array.from({ length: 32 }, (_, index) => [`k${index}`, 'v']));
    expect(registry.register('c', noop, { metadata: thirtyTwo }).metadata).toEqual(thirtyTwo);
    expect(thrown(() => registry.register('d', noop, { metadata: { n: 1 as unknown as string } })).details.reason).toBe(
      'invalid_type',
    );
  });

  it('refuses duplicates with tool_registration_failed', () => {
    const registry = createHostToolRegistry();
    registry.register('a', noop);
    const error = thrown(() => registry.register('a', noop));
    expect(error.code).toBe('tool_registration_failed');
    expect(error.details).toEqual({ name: 'a', reason: 'duplicate' });
  });

  it('registers a batch all-or-nothing', () => {
    const registry = createHostToolRegistry();
    registry.register('existing', noop);
    expect(
      thrown(() =>
        registry.registerAll([
          { name: 'one', handler: noop },
          { name: 'bad name', handler: noop },
        ]),
      ).code,
    ).toBe('invalid_parameter');
    expect(thrown(() => registry.registerAll([{ name: 'two', handler: noop }, { name: 'existing', handler: noop }])).code).toBe(
      'tool_registration_failed',
    );
    expect(thrown(() => registry.registerAll([{ name: 'three', handler: noop }, { name: 'three', handler: noop }])).code).toBe(
      'tool_registration_failed',
    );
    expect(registry.list().map((tool) => tool.name)).toEqual(['existing']);
    registry.registerAll([
      { name: 'one', handler: noop },
      { name: 'two', handler: noop, exposeToPython: false },
    ]);
    expect(registry.list().map((tool) => tool.name)).toEqual(['existing', 'one', 'two']);
    expect(registry.list({ exposedOnly: true }).map((tool) => tool.name)).toEqual(['existing', 'one']);
  });

  it('returns frozen descriptions that do not follow later changes by the caller', () => {
    const registry = createHostToolRegistry();
    const parameters = { type: 'object', properties: { text: { type: 'string' } } };
    const tool = registry.register('a', noop, { description: 'does a', parameters });
    parameters.properties.text.type = 'number';
    expect(tool.parameters).toEqual({ type: 'object', properties: { text: { type: 'string' } } });
    expect(Object.isFrozen(tool)).toBe(true);
    expect(Object.isFrozen((tool.parameters as { properties: object }).properties)).toBe(true);
    expect(registry.get('a')).toBe(tool);
    expect(registry.unregister('a')).toBe(true);
    expect(registry.unregister('a')).toBe(false);
    expect(thrown(() => registry.register('b', noop, { parameters: { bad: new Date() } as never })).details.key).toBe(
      'parameters',
    );
    expect(thrown(() => registry.register('c', 'not a function' as never)).details.key).toBe('handler');
  });
});

describe('HostToolRegistry.execute', () => {
  it('runs an async handler with the session id, a signal and the correlation id', async () => {
    const registry = createHostToolRegistry();
    let seen: HostToolContext | undefined;
    registry.register('add', async (args, context) => {
      seen = context;
      await new Promise((resolve) => setTimeout(resolve, 1));
      return (args.a as number) + (args.b as number);
    });
    const controller = new AbortController();
    const result = await registry.execute('add', { a: 2, b: 3 }, { sessionId: 's1', signal: controller.signal, correlationId: 'c1' });
    expect(result).toBe(5);
    expect(seen?.sessionId).toBe('s1');
    expect(seen?.signal).toBe(controller.signal);
    expect(seen?.correlationId).toBe('c1');
    await registry.execute('add', { a: 1, b: 1 });
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
    expect(seen?.sessionId).toBeUndefined();
  });

  it('wraps a throwing handler as host_tool_error with its message and the original as cause', async () => {
    const registry = createHostToolRegistry();
    const original = new RangeError('value out of range');
    registry.register('sync-throw', () => {
      throw original;
    });
    registry.register('async-reject', async () => Promise.reject(new Error('async boom')));
    const error = await failureOf(registry.execute('sync-throw', {}));
    expect(error.code).toBe('host_tool_error');
    expect(error.message).toBe('value out of range');
    expect(error.cause).toBe(original);
    expect(error.details).toMatchObject({ tool: 'sync-throw', errorName: 'RangeError' });
    expect((await failureOf(registry.execute('async-reject', {}))).message).toBe('async boom');
  });

  it('reports unknown tools with the available ones; unexposed tools are unknown to Python', async () => {
    const registry = createHostToolRegistry();
    registry.register('b', noop);
    registry.register('a', noop);
    registry.register('hidden', noop, { exposeToPython: false });
    const error = await failureOf(registry.execute('missing', {}));
    expect(error.code).toBe('unknown_tool');
    expect(error.details).toEqual({ tool: 'missing', available: ['a', 'b', 'hidden'] });
    const fromPython = await failureOf(registry.execute('hidden', {}, { exposedOnly: true }));
    expect(fromPython.details).toEqual({ tool: 'hidden', available: ['a', 'b'] });
    await expect(registry.execute('hidden', {})).resolves.toBeNull();
  });

  it('does not run a handler whose signal already fired', async () => {
    const registry = createHostToolRegistry();
    let ran = false;
    registry.register('a', () => {
      ran = true;
    });
    const controller = new AbortController();
    controller.abort();
    expect((await failureOf(registry.execute('a', {}, { signal: controller.signal }))).code).toBe('aborted');
    expect(ran).toBe(false);
  });
});
