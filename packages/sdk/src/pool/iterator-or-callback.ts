/**
 * The two forms of every stream call, defined once: an async iterator (`for await`), or a callback
 * per chunk that may return `'halt'` (then a promise that settles when the stream is over). Also
 * the iterator of a stream refused before it was sent.
 */
import type { SnakepitError } from '../errors.js';
import type { ToolArguments } from '../wire/arguments.js';
import type { Chunk } from '../wire/chunk.js';
import type { CallOptions } from './call-options.js';

/** What a stream callback may return: `'halt'` stops the stream early. */
export type ChunkCallbackResult = void | 'halt' | Promise<void | 'halt'>;
export type ChunkCallback = (chunk: Chunk) => ChunkCallbackResult;

/**
 * A stream call in both forms. `Lead` are the arguments before the tool name (`[sessionId]` for
 * `executeInSessionStream`).
 */
export interface ExecuteStream<Lead extends unknown[] = []> {
  (...call: [...Lead, tool: string, args?: ToolArguments, options?: CallOptions]): AsyncIterableIterator<Chunk>;
  (...call: [...Lead, tool: string, args: ToolArguments | undefined, onChunk: ChunkCallback, options?: CallOptions]): Promise<void>;
}

/** Opens a stream in its iterator form; `lead` holds the arguments before the tool name. */
export type OpenStream<Lead extends unknown[]> = (
  lead: Lead,
  tool: string,
  args: ToolArguments | undefined,
  options: CallOptions | undefined,
) => AsyncIterableIterator<Chunk>;

/** Both forms over `open`; `leadLength` is how many arguments come before the tool name. */
export function streamForms<Lead extends unknown[]>(leadLength: Lead['length'], open: OpenStream<Lead>): ExecuteStream<Lead> {
  return ((...call: unknown[]) => {
    const lead = call.slice(0, leadLength) as Lead;
    const tool = call[leadLength] as string;
    const args = call[leadLength + 1] as ToolArguments | undefined;
    const optionsOrCallback = call[leadLength + 2] as CallOptions | ChunkCallback | undefined;
    if (typeof optionsOrCallback === 'function') {
      return consumeWithCallback(open(lead, tool, args, call[leadLength + 3] as CallOptions | undefined), optionsOrCallback);
    }
    return open(lead, tool, args, optionsOrCallback);
  }) as ExecuteStream<Lead>;
}

async function consumeWithCallback(stream: AsyncIterableIterator<Chunk>, onChunk: ChunkCallback): Promise<void> {
  for await (const chunk of stream) {
    if ((await onChunk(chunk)) === 'halt') break;
  }
}

/** A stream refused before it was sent (bad arguments or options): its first `next()` rejects. */
export function refusedStream(error: SnakepitError): AsyncIterableIterator<Chunk> {
  let reported = false;
  const iterator: AsyncIterableIterator<Chunk> = {
    next: () => {
      if (reported) return Promise.resolve({ done: true, value: undefined });
      reported = true;
      return Promise.reject(error);
    },
    return: (value?: unknown) => {
      reported = true;
      return Promise.resolve({ done: true, value } as IteratorResult<Chunk>);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
