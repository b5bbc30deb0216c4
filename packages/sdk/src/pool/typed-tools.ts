/**
 * Types for pools whose tools are known at compile time: `createPool<Tools>()`, where `Tools` is
 * what `npx snakepit types` generates from a Python adapter. A wrong tool name, a missing required
 * argument, an argument of the wrong type or an unknown key is then a compile error, and results
 * and stream chunks have their declared types. Untyped pools (`createPool()`) keep `unknown`.
 */
import type { CallOptions } from './call-options.js';
import type { ChunkCallbackResult } from './iterator-or-callback.js';

/** One tool's types. */
export interface ToolTypes {
  /** The arguments object. */
  args: object;
  /** What `execute` resolves with. */
  result: unknown;
  /** Present for streaming tools: the type of each item the tool yields. */
  chunk?: unknown;
}

/** Tool name → its types: the shape of a generated `Tools` type. */
export type ToolCatalog = { [tool: string]: ToolTypes };

/** How an item travels to the caller (see `Chunk`): objects as their fields, bytes as base64, the rest under `data`. */
type DecodedItem<Item> = Item extends Uint8Array
  ? { raw_data_base64: string }
  : Item extends readonly unknown[]
    ? { data: Item }
    : Item extends object
      ? Item
      : { data: Item };

/**
 * A stream chunk as the caller sees it, for a tool that yields `Item`s: every chunk but the last
 * carries an item; the final one (`is_final: true`) may carry the last item or nothing.
 */
export type ChunkOf<Item> =
  | (DecodedItem<Item> & { is_final: false; _metadata?: Record<string, string> })
  | (Partial<DecodedItem<Item>> & { is_final: true; _metadata?: Record<string, string> });

/** The tools of `Tools` that stream. */
export type StreamingToolName<Tools extends ToolCatalog> = {
  [Name in keyof Tools]: Tools[Name] extends { chunk: unknown } ? Name : never;
}[keyof Tools] &
  string;

type ItemOf<Types> = Types extends { chunk: infer Item } ? Item : never;

/** The arguments (optional when every argument is) and then the call options. */
export type ArgsThenOptions<Args> = {} extends Args ? [args?: Args, options?: CallOptions] : [args: Args, options?: CallOptions];

/** `execute` of a typed pool. `Lead` are the arguments before the tool name (`[sessionId]`). */
export interface TypedExecute<Tools extends ToolCatalog, Lead extends unknown[] = []> {
  <Name extends keyof Tools & string>(...call: [...Lead, tool: Name, ...ArgsThenOptions<Tools[Name]['args']>]): Promise<Tools[Name]['result']>;
}

/** `executeStream` of a typed pool, in both forms (iterator, or callback that may return `'halt'`). */
export interface TypedExecuteStream<Tools extends ToolCatalog, Lead extends unknown[] = []> {
  <Name extends StreamingToolName<Tools>>(
    ...call: [...Lead, tool: Name, ...ArgsThenOptions<Tools[Name]['args']>]
  ): AsyncIterableIterator<ChunkOf<ItemOf<Tools[Name]>>>;
  <Name extends StreamingToolName<Tools>>(
    ...call: [
      ...Lead,
      tool: Name,
      args: Tools[Name]['args'] | undefined,
      onChunk: (chunk: ChunkOf<ItemOf<Tools[Name]>>) => ChunkCallbackResult,
      options?: CallOptions,
    ]
  ): Promise<void>;
}

