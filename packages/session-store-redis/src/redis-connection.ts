/**
 * The store's hold on Redis: the client (its own, or one the user passed and keeps), the deadline
 * of every operation, and the translation of client failures into `session_store_unavailable`.
 *
 * Nothing waits longer than `operationTimeoutMs`: a call made while the connection is down waits
 * for it to come back within that time, then fails; a command Redis does not answer in time
 * fails. The store's own client never queues commands while disconnected, never resends one after
 * a reconnect (a write the caller was told failed must not be applied later), and reconnects by
 * itself, forever, with a capped backoff.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { errors, hostErrors, SnakepitError } from '@snakepit/sdk/adapter';

/** ioredis's words for a command sent while the connection was going away (before it noticed). */
const connectionGone = /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE/;
import { scripts, type ScriptName } from './scripts.js';

/** Longest pause between two reconnection attempts of the store's own client. */
const maxReconnectDelayMs = 1_000;
/** How long close() lets QUIT take before dropping the connection. */
const quitTimeoutMs = 1_000;

/** Reply errors that mean "Redis cannot serve now" rather than "this command is wrong". */
const unavailableReplies = /^(OOM|LOADING|BUSY|READONLY|MASTERDOWN|NOREPLICAS|TRYAGAIN|CLUSTERDOWN|MISCONF|NOAUTH|WRONGPASS|NOPERM)\b/;

export interface ConnectionSettings {
  url: string | undefined;
  client: Redis | undefined;
  redisOptions: RedisOptions | undefined;
  operationTimeoutMs: number;
  connectTimeoutMs: number;
}

interface Waiter {
  readonly operation: string;
  readonly ready: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

type ScriptCommand = (...keysAndArguments: Array<string | number>) => Promise<unknown>;

export function ownClientOptions(settings: Pick<ConnectionSettings, 'operationTimeoutMs' | 'connectTimeoutMs'>): RedisOptions {
  return {
    // Fail at once while disconnected (the store waits for the connection itself, bounded) ...
    enableOfflineQueue: false,
    // ... fail what was in flight when the connection dropped, instead of retrying it ...
    maxRetriesPerRequest: 0,
    // ... and never send it again after reconnecting.
    autoResendUnfulfilledCommands: false,
    commandTimeout: settings.operationTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    // Never give up: the store is usable again as soon as Redis is.
    retryStrategy: (attempt: number) => Math.min(50 * attempt, maxReconnectDelayMs),
    // The first call connects; creating a store opens nothing.
    lazyConnect: true,
  };
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class RedisConnection {
  readonly client: Redis;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  /** Calls waiting for the connection to become ready. */
  readonly #waiters = new Set<Waiter>();
  #lastError: unknown;
  #closed = false;

  constructor(settings: ConnectionSettings) {
    this.#timeoutMs = settings.operationTimeoutMs;
    this.#owned = settings.client === undefined;
    if (settings.client !== undefined) {
      this.client = settings.client;
    } else {
      const options = { ...ownClientOptions(settings), ...settings.redisOptions };
      this.client = settings.url === undefined ? new Redis(options) : new Redis(settings.url, options);
      // Our client's errors are ours to report (through the calls that fail); without a listener
      // ioredis would print every reconnection failure. A client the user passed keeps their listeners.
      this.client.on('error', this.#onError);
      // Connected again: an earlier failure no longer explains anything.
      this.client.on('connect', this.#onConnect);
    }
    this.client.on('ready', this.#onReady);
    this.client.on('end', this.#onEnd);
    for (const [name, definition] of Object.entries(scripts)) {
      // The same client may serve several stores (other prefixes); the scripts are the same.
      if (typeof (this.client as unknown as Record<string, unknown>)[name] !== 'function') this.client.defineCommand(name, definition);
    }
  }

  /** Runs a script within the operation's deadline. */
  script(operation: string, name: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    const command = (this.client as unknown as Record<ScriptName, ScriptCommand>)[name].bind(this.client);
    return this.run(operation, () => command(...keys, ...args));
  }

  /** Runs `send` once the connection is ready; everything within `operationTimeoutMs`. */
  async run<T>(operation: string, send: () => Promise<T>): Promise<T> {
    if (this.#closed) throw hostErrors.sessionStoreClosed();
    const deadline = Date.now() + this.#timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let waiter: Waiter | undefined;
    let sent = false;
    const expired = new Promise<never>((_, reject) => {
      // Still waiting for the connection: Redis is unreachable (the client's last error says why).
      const fire = () => reject(this.#unavailable(operation, sent ? 'timeout' : 'disconnected'));
      timer = setTimeout(fire, this.#timeoutMs);
    });
    expired.catch(() => {});
    try {
      if (this.client.status !== 'ready') {
        waiter = this.#waiter(operation);
        await Promise.race([waiter.ready, expired]);
      }
      sent = true;
      const reply = send();
      // If the deadline wins, the command may still settle later; nobody must hear about it.
      reply.catch(() => {});
      return await Promise.race([reply, expired]);
    } catch (error) {
      throw this.#translate(operation, error, deadline);
    } finally {
      clearTimeout(timer);
      if (waiter !== undefined) this.#waiters.delete(waiter);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters) waiter.reject(hostErrors.sessionStoreClosed());
    this.#waiters.clear();
    this.client.off('ready', this.#onReady);
    this.client.off('end', this.#onEnd);
    if (!this.#owned) return;
    if (this.client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, quitTimeoutMs);
      });
      await Promise.race([this.client.quit().then(() => undefined, () => undefined), late]);
      clearTimeout(timer);
    }
    // The error listener stays: a connection attempt under way may still fail after this.
    this.client.disconnect();
  }

  /** A wait for the connection to become ready, failing at once when it cannot. */
  #waiter(operation: string): Waiter {
    const status = this.client.status;
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const ready = new Promise<void>((onReady, onFailure) => {
      resolve = onReady;
      reject = onFailure;
    });
    ready.catch(() => {});
    const waiter: Waiter = { operation, ready, resolve, reject };
    if (status === 'end') {
      reject(this.#unavailable(operation, 'disconnected'));
      return waiter;
    }
    this.#waiters.add(waiter);
    if (status === 'wait') this.client.connect().catch(() => {});
    return waiter;
  }

  readonly #onReady = (): void => {
    this.#lastError = undefined;
    for (const waiter of [...this.#waiters]) waiter.resolve();
  };

  readonly #onEnd = (): void => {
    for (const waiter of [...this.#waiters]) waiter.reject(this.#unavailable(waiter.operation, 'disconnected'));
  };

  readonly #onConnect = (): void => {
    this.#lastError = undefined;
  };

  readonly #onError = (error: unknown): void => {
    this.#lastError = error;
  };

  #unavailable(operation: string, reason: 'timeout' | 'disconnected' | 'error', cause?: unknown): SnakepitError {
    const underlying = cause ?? this.#lastError;
    if (reason === 'timeout') {
      const text = `no answer from Redis within ${this.#timeoutMs} ms`;
      return errors.sessionStoreUnavailable(
        operation,
        underlying === undefined ? new Error(text) : new Error(`${text} (${describeFailure(underlying)})`, { cause: underlying }),
        { reason, timeoutMs: this.#timeoutMs },
      );
    }
    const failure = underlying ?? new Error(`Redis is not connected (client ${this.client.status})`);
    return errors.sessionStoreUnavailable(operation, failure, reason === 'disconnected' ? { reason, timeoutMs: this.#timeoutMs } : { reason });
  }

  #translate(operation: string, error: unknown, deadline: number): SnakepitError {
    // The deadline, the client ending, or close(): already worded.
    if (SnakepitError.isInstance(error)) return error;
    const message = describeFailure(error);
    if (error instanceof Error && error.name === 'ReplyError' && !unavailableReplies.test(message)) {
      // Redis refused the command itself: a bug here, or foreign data under our prefix.
      return hostErrors.internal(`Redis refused ${operation}: ${message}`, error);
    }
    const reason =
      message === 'Command timed out' || Date.now() >= deadline ? 'timeout' : connectionGone.test(message) ? 'disconnected' : 'error';
    return this.#unavailable(operation, reason, error);
  }
}
