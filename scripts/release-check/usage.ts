// Typed usage of the published packages, compiled with `strict` and without skipLibCheck (so the
// shipped .d.ts files are checked too) under each module resolution mode; see release-check.mjs.
// It is type-checked only, never run.
import { createPool, SnakepitError, type Chunk, type Pool, type PoolOptions, type SnakepitErrorCode } from '@snakepit/sdk';
import type { AdapterV1, AdapterWorkerV1, WorkerStartContext } from '@snakepit/sdk/adapter';
import { pythonAdapter, type PythonAdapterSettings } from '@snakepit/adapter-python';
import { threadedPythonAdapter } from '@snakepit/adapter-python-threaded';
import { scrubText } from '@snakepit/redaction';
import { redisSessionStore, type RedisSessionStoreOptions } from '@snakepit/session-store-redis';

const settings: PythonAdapterSettings = { adapter: 'my_tools.adapter.MyAdapter', pythonPath: ['./python'] };
const options: PoolOptions = { adapter: pythonAdapter(settings), size: 2, timeoutMs: 5_000 };

export async function typedCalls(): Promise<number> {
  // `await using` needs Symbol.asyncDispose and AsyncDisposable: @types/node declares them (sdk README).
  await using pool = createPool(options);
  const sum = await pool.execute<number>('add', { a: 1, b: 2 });
  const signal: AbortSignal = AbortSignal.timeout(1_000);
  for await (const chunk of pool.executeStream('count', { to: 3 }, { signal })) {
    const done: boolean = chunk.is_final;
    if (done) break;
  }
  await pool.executeStream('count', { to: 3 }, (chunk: Chunk) => (chunk.is_final ? 'halt' : undefined));
  const session = pool.session('user-1');
  await session.create();
  await session.state.set('seen', [1, 'two', { three: null }]);
  const seen = await session.state.get('seen');
  const greeting: string = await session.execute<string>('greet', { name: 'Ada', seen: seen ?? null });
  try {
    await pool.execute('fail');
  } catch (error: unknown) {
    if (SnakepitError.isInstance(error)) {
      const code: SnakepitErrorCode = error.code;
      console.log(code, error.pythonType, error.details, greeting);
    }
    if (error instanceof SnakepitError && SnakepitError.hasCode(error, 'python_error')) console.log(error.pythonTraceback);
  }
  return sum;
}

export function otherAdapters(): Pool[] {
  return [createPool({ adapter: threadedPythonAdapter({ adapter: 'tools.Safe', threadsPerWorker: 4 }), size: 1 })];
}

export function describeAdapter(adapter: AdapterV1): string {
  const start: (context: WorkerStartContext) => Promise<AdapterWorkerV1> = (context) => adapter.doStartWorker(context);
  return `${adapter.name} ${adapter.specificationVersion} ${typeof start}`;
}

export const scrubbed: string = scrubText('password=hunter2');

const storeOptions: RedisSessionStoreOptions = { url: 'redis://127.0.0.1:6379', keyPrefix: 'app:', maxSessions: 100 };
export const sharedSessions: Pool = createPool({ adapter: pythonAdapter(settings), sessionStore: redisSessionStore(storeOptions) });
