/**
 * One long-lived HTTP/2 session per transport, opened lazily and replaced lazily: a session that
 * closed, failed or received GOAWAY is never reused, and the next call opens a fresh one. Calls in
 * flight on the old session finish or fail on their own. The session holds the event loop only
 * while calls are in flight, so an idle worker connection never keeps Node alive.
 *
 * With `reconnect: false` (a remote worker, whose connection is its life) the first session is the
 * only one: once it ends the connection is closed for good and `ended` resolves with the cause.
 */
import * as http2 from 'node:http2';
import type { SecureClientSessionOptions } from 'node:http2';
import { Code, ConnectError } from '@connectrpc/connect';

export interface Http2ConnectionSettings {
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise: how far a server may run ahead on one stream. */
  readonly initialWindowSize: number;
  /** Connection-level receive window, raised right after connecting. */
  readonly sessionWindowSize: number;
  /** node's per-session memory budget, in megabytes (node's unit). */
  readonly maxSessionMemory: number;
  /** Largest DATA frame we accept; larger frames mean fewer chunks to join for big messages. */
  readonly maxFrameSize: number;
  /** TLS client options (CA, client certificate, server name) for an `https:` authority. */
  readonly tls?: Pick<SecureClientSessionOptions, 'ca' | 'cert' | 'key' | 'servername'> | undefined;
  /** False: one session only; its end closes the connection. */
  readonly reconnect: boolean;
}

/** A session and the calls currently using it; the unit of ref/unref and of replacement. */
export class SessionSlot {
  /** Calls that acquired this slot, holding the event loop, and have not released it yet. */
  active = 0;
  /** Set on GOAWAY: the peer will accept no new streams here. */
  draining = false;
  /** The last session-level error, reported as the cause of calls that die with the session. */
  failure: unknown;

  constructor(readonly session: http2.ClientHttp2Session) {}

  get acceptsStreams(): boolean {
    return !this.draining && !this.session.closed && !this.session.destroyed;
  }

  /** Ends one call's use of the session; the last one lets the process exit again. */
  release(holdsEventLoop: boolean): void {
    if (holdsEventLoop && --this.active === 0 && !this.session.destroyed) this.session.unref();
  }
}

export class Http2Connection {
  private current: SessionSlot | undefined;
  /** Every session not closed yet: the current one and those finishing their calls after GOAWAY or close(). */
  private readonly live = new Set<SessionSlot>();
  private closed = false;
  private destroyedByCaller = false;
  private opened = false;
  private endedWith!: (cause: unknown) => void;
  private goneAway!: () => void;
  /** Without reconnect: resolves when the peer sent GOAWAY (it takes no new calls; those in flight finish). */
  readonly goingAway = new Promise<void>((resolve) => {
    this.goneAway = resolve;
  });
  /** Resolves once the connection is closed for good: `close()`, `destroy()`, or (without reconnect) its session ended. */
  readonly ended = new Promise<unknown>((resolve) => {
    this.endedWith = resolve;
  });

  constructor(
    readonly authority: string,
    private readonly settings: Http2ConnectionSettings,
  ) {}

  /**
   * Opens the session now (if none is open) and resolves once it is connected (TLS handshake
   * done); rejects with the cause when it fails or closes first.
   */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectError(`transport to ${this.authority} is closed`, Code.Unavailable));
    const slot = this.acquire(false);
    const session = slot.session;
    if (session.connecting === false && !session.closed && !session.destroyed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const connected = () => {
        session.off('close', closed);
        resolve();
      };
      const closed = () => {
        session.off('connect', connected);
        reject(slot.failure ?? new Error(`the connection to ${this.authority} closed before it was established`));
      };
      session.once('connect', connected);
      session.once('close', closed);
    });
  }

  /** destroy() was called: calls that die now were ended by us, not by the peer. */
  get isDestroyed(): boolean {
    return this.destroyedByCaller;
  }

  /**
   * Opens a stream on the current session (connecting first if needed). The caller must call
   * `slot.release(holdsEventLoop)` exactly once, when the stream has closed. node queues streams
   * beyond the peer's SETTINGS_MAX_CONCURRENT_STREAMS inside nghttp2, so no queue is kept here.
   * A stream that does not hold the event loop (a long-lived channel, idle most of its life)
   * leaves the process free to exit while it is open.
   */
  request(
    headers: http2.OutgoingHttpHeaders,
    holdsEventLoop: boolean,
  ): { slot: SessionSlot; stream: http2.ClientHttp2Stream } {
    if (this.closed) throw new ConnectError(`transport to ${this.authority} is closed`, Code.Unavailable);
    // A session can die between our check and node's (GOAWAY racing the call); one retry on a
    // fresh session covers that without looping on a peer that refuses every connection.
    for (let attempt = 0; ; attempt++) {
      const slot = this.acquire(holdsEventLoop);
      try {
        return { slot, stream: slot.session.request(headers, requestOptions) };
      } catch (error) {
        slot.release(holdsEventLoop);
        if (attempt === 0 && !slot.acceptsStreams) {
          if (this.current === slot) this.current = undefined;
          continue;
        }
        throw new ConnectError(`could not start a call on ${this.authority}`, Code.Unavailable, undefined, undefined, error);
      }
    }
  }

  /** Graceful: no new calls; calls in flight finish, then the session closes. */
  close(): void {
    this.closed = true;
    this.current = undefined;
    for (const slot of this.live) if (!slot.session.closed) slot.session.close();
    if (this.live.size === 0) this.endedWith(undefined);
  }

  /** Immediate: calls in flight fail with Unavailable. */
  destroy(): void {
    this.closed = true;
    this.destroyedByCaller = true;
    this.current = undefined;
    // Sessions already closing gracefully too: their streams may never end by themselves.
    for (const slot of this.live) if (!slot.session.destroyed) slot.session.destroy();
    if (this.live.size === 0) this.endedWith(undefined);
  }

  private acquire(holdsEventLoop: boolean): SessionSlot {
    let slot = this.current;
    if (slot === undefined || !slot.acceptsStreams) {
      if (this.opened && !this.settings.reconnect) {
        throw new ConnectError(`the connection to ${this.authority} ended`, Code.Unavailable, undefined, undefined, slot?.failure);
      }
      slot = this.open();
      this.current = slot;
    }
    if (holdsEventLoop && slot.active++ === 0) slot.session.ref();
    return slot;
  }

  private open(): SessionSlot {
    this.opened = true;
    const session = http2.connect(this.authority, {
      settings: {
        enablePush: false,
        initialWindowSize: this.settings.initialWindowSize,
        maxFrameSize: this.settings.maxFrameSize,
      },
      maxSessionMemory: this.settings.maxSessionMemory,
      ...this.settings.tls,
    });
    const slot = new SessionSlot(session);
    this.live.add(slot);
    session.unref();
    session.once('connect', () => {
      // The connection window can only be raised once the native session exists.
      if (!session.destroyed) session.setLocalWindowSize(this.settings.sessionWindowSize);
    });
    // Without an 'error' listener a refused or reset connection would crash the process; the
    // streams on it fail individually and carry this error as their cause.
    session.on('error', (error: unknown) => {
      slot.failure = error;
    });
    session.on('goaway', () => {
      slot.draining = true;
      if (!this.settings.reconnect) this.goneAway();
    });
    session.once('close', () => {
      this.live.delete(slot);
      if (this.current === slot) this.current = undefined;
      if (!this.settings.reconnect || (this.closed && this.live.size === 0)) {
        this.closed = true;
        this.endedWith(slot.failure);
      }
    });
    return slot;
  }
}

const requestOptions: http2.ClientSessionRequestOptions = { endStream: false };
