/** `pool.session(id)`: one session's calls and state behind one handle. */
import type { JsonValue } from '../wire/json-value.js';
import { createSessionHandle } from './session-handle.js';
import type { CreateSessionOptions, Session } from './session-store.js';
import type { CallOptions } from '../pool/call-options.js';
import { streamForms, type ExecuteStream } from '../pool/iterator-or-callback.js';
import type { ToolArguments } from '../wire/arguments.js';
import type { Pool } from '../pool/pool.js';
import type { ToolCatalog, TypedExecute, TypedExecuteStream } from '../pool/typed-tools.js';

export interface PoolSessionState {
  get(key: string): Promise<JsonValue | undefined>;
  set(key: string, value: JsonValue): Promise<void>;
  delete(key: string): Promise<boolean>;
}

/** `pool.session(id)`: typed like its pool (see `Pool`). */
export type PoolSession<Tools extends ToolCatalog | undefined = undefined> = PoolSessionCore &
  ([Tools] extends [undefined] ? UntypedSessionCalls : TypedSessionCalls<NonNullable<Tools>>);

export interface TypedSessionCalls<Tools extends ToolCatalog> {
  readonly execute: TypedExecute<Tools>;
  readonly executeStream: TypedExecuteStream<Tools>;
}

export interface UntypedSessionCalls {
  execute<T = unknown>(tool: string, args?: ToolArguments, options?: CallOptions): Promise<T>;
  readonly executeStream: ExecuteStream;
}

export interface PoolSessionCore {
  readonly id: string;
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
  return Object.freeze({
    id: sessionId,
    execute: <T = unknown>(tool: string, args?: ToolArguments, options?: CallOptions) => pool.execute<T>(tool, args, { ...options, sessionId }),
    executeStream: streamForms<[]>(0, (_, tool, args, options) => pool.executeStream(tool, args, { ...options, sessionId })),
    state: Object.freeze({ get: handle.getState, set: handle.setState, delete: handle.deleteState }),
    create: handle.create,
    info: handle.info,
    delete: handle.delete,
  });
}
