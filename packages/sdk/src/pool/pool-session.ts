/** `pool.session(id)`: one session's calls and state behind one handle. */
import type { JsonValue } from '../session/json-value.js';
import { createSessionHandle } from '../session/session-handle.js';
import type { CreateSessionOptions, Session } from '../session/session-store.js';
import type { CallOptions, Chunk, ChunkCallback, ToolArguments } from '../types.js';
import type { Pool } from './pool.js';

export interface PoolSessionState {
  get(key: string): Promise<JsonValue | undefined>;
  set(key: string, value: JsonValue): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export interface PoolSession {
  readonly id: string;
  execute(tool: string, args?: ToolArguments, options?: CallOptions): Promise<unknown>;
  executeStream(tool: string, args?: ToolArguments, options?: CallOptions): AsyncIterableIterator<Chunk>;
  executeStream(tool: string, args: ToolArguments | undefined, onChunk: ChunkCallback, options?: CallOptions): Promise<void>;
  /** The session's key/value state in the pool's store, shared with its Python calls. */
  readonly state: PoolSessionState;
  /** Creates the session if needed (idempotent); session calls do this by themselves. */
  create(options?: CreateSessionOptions): Promise<Session>;
  /** The live session, or undefined when it does not exist (or expired). */
  info(): Promise<Session | undefined>;
  /** Deletes the session and its state. */
  delete(): Promise<boolean>;
}

export function createPoolSession(pool: Pool, sessionId: string): PoolSession {
  const handle = createSessionHandle(pool.sessions, sessionId);
  function executeStream(tool: string, args?: ToolArguments, options?: CallOptions): AsyncIterableIterator<Chunk>;
  function executeStream(tool: string, args: ToolArguments | undefined, onChunk: ChunkCallback, options?: CallOptions): Promise<void>;
  function executeStream(
    tool: string,
    args?: ToolArguments,
    optionsOrCallback?: CallOptions | ChunkCallback,
    callbackOptions?: CallOptions,
  ): AsyncIterableIterator<Chunk> | Promise<void> {
    if (typeof optionsOrCallback === 'function') {
      return pool.executeInSessionStream(sessionId, tool, args, optionsOrCallback, callbackOptions);
    }
    return pool.executeInSessionStream(sessionId, tool, args, optionsOrCallback);
  }
  return Object.freeze({
    id: sessionId,
    execute: (tool: string, args?: ToolArguments, options?: CallOptions) => pool.executeInSession(sessionId, tool, args, options),
    executeStream,
    state: Object.freeze({ get: handle.getState, set: handle.setState, delete: handle.deleteState }),
    create: handle.create,
    info: handle.info,
    delete: handle.delete,
  });
}
