// Typed usage of `@snakepit/sdk/testing`, checked like usage.ts. Its declarations include
// @connectrpc/connect's, which name the DOM type `HeadersInit` (connectrpc/connect-es#481; @types/node
// does not declare it), so this program adds `DOM` to `lib`; the sdk README says the same.
import { createPool } from '@snakepit/sdk';
import { createInMemoryAdapter, createMemoryLogger, defineAdapterConformanceSuite } from '@snakepit/sdk/testing';

export async function inMemory(): Promise<number> {
  const logger = createMemoryLogger();
  await using pool = createPool({
    adapter: createInMemoryAdapter({ tools: { add: (args) => Number(args.a) + Number(args.b) } }),
    size: 1,
    logger,
  });
  return pool.execute<number>('add', { a: 1, b: 2 });
}

export const conformance: typeof defineAdapterConformanceSuite = defineAdapterConformanceSuite;
