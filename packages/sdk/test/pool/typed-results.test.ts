/**
 * `execute<T>()`: the result has the type the caller names. The `@ts-expect-error` lines are part
 * of the test: `tsc --noEmit` (the package's typecheck) fails if any of them stops being an error.
 */
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createPool } from '../../src/index.js';
import { createInMemoryAdapter } from '../../src/testing/index.js';

describe('typed results', () => {
  const pool = createPool({
    adapter: createInMemoryAdapter({ tools: { add: ({ a, b }) => Number(a) + Number(b), name: () => 'ada' } }),
    size: 1,
  });
  afterAll(() => pool.close());

  it('execute, executeInSession and session(id).execute return the named type', async () => {
    const sum = await pool.execute<number>('add', { a: 1, b: 2 });
    expectTypeOf(sum).toEqualTypeOf<number>();
    expect(sum + 1).toBe(4);
    const name = await pool.executeInSession<string>('s1', 'name');
    expectTypeOf(name).toEqualTypeOf<string>();
    expect(name.toUpperCase()).toBe('ADA');
    const again = await pool.session('s1').execute<number>('add', { a: 2, b: 2 });
    expect(again).toBe(4);
    // @ts-expect-error a number result is not a string
    const wrong: string = await pool.execute<number>('add', { a: 1, b: 1 });
    expect(typeof wrong).toBe('number');
  });

  it('defaults to unknown', async () => {
    const value = await pool.execute('add', { a: 1, b: 1 });
    expectTypeOf(value).toEqualTypeOf<unknown>();
    // @ts-expect-error unknown must be narrowed before use
    expect(value + 1).toBe(3);
  });
});
