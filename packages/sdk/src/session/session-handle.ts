/**
 * A session id bound to a store, so callers write `session.setState('k', v)` instead of passing the
 * id every time. The pool builds `pool.session(id)` on top of this and adds execute/stream.
 */
import type { JsonValue } from '../wire/json-value.js';
import { validateSessionId, type CreateSessionOptions, type Session, type SessionStore } from './session-store.js';

export interface SessionHandle {
  readonly id: string;
  /** Creates the session if needed (idempotent) and returns it. */
  create(options?: CreateSessionOptions): Promise<Session>;
  /** The live session, or undefined when it does not exist (or expired). */
  info(): Promise<Session | undefined>;
  touch(): Promise<Session | undefined>;
  getState(key: string): Promise<JsonValue | undefined>;
  setState(key: string, value: JsonValue): Promise<void>;
  deleteState(key: string): Promise<boolean>;
  /** Deletes the session and its state. */
  delete(): Promise<boolean>;
}

export function createSessionHandle(store: SessionStore, id: string): SessionHandle {
  validateSessionId(id, 'sessionId');
  return Object.freeze({
    id,
    create: (options?: CreateSessionOptions) => store.create(id, options),
    info: () => store.get(id),
    touch: () => store.touch(id),
    getState: (key: string) => store.getState(id, key),
    setState: (key: string, value: JsonValue) => store.setState(id, key, value),
    deleteState: (key: string) => store.deleteState(id, key),
    delete: () => store.delete(id),
  });
}
