/**
 * The call channel: one long-lived `WorkerService.Calls` stream per worker, on which small unary
 * calls travel as messages. Opening an HTTP/2 stream per call costs the worker several times what a
 * message on an open stream costs, and most calls are small.
 *
 * One `CallChannel` is one opened stream. It never reopens itself: once broken (the stream failed
 * or ended) every call in flight on it fails at once with the stream's error, and the worker opens
 * a fresh channel for its next call. Aborting a call (the pool's signal: deadline, caller abort,
 * close) settles it at once and sends a cancel frame, on which the worker cancels its task.
 *
 * The open stream does not keep the process alive while idle; a channel with calls in flight does.
 *
 * Given a host request handler (a worker run as a service, PROTOCOL.md §13b), the channel also
 * carries the worker's host requests: each runs through the handler and its answer goes back as a
 * frame; those still running when the channel breaks are aborted (nobody can read their answers).
 */
import { Code, createContextValues, type Client } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { HostAnswer, HostRequestHandler } from '../bridge/host-requests.js';
import type {
  CallsResponse,
  ChannelCallSchema,
  CallsRequestSchema,
  ExecuteToolResponse,
  HostRequest,
} from '../gen/snakepit/bridge/v1/worker_pb.js';
import type { WorkerService } from '../gen/snakepit/bridge/v1/worker_pb.js';
import { streamHoldsEventLoop } from '../transport/index.js';

type Frame = MessageInitShape<typeof CallsRequestSchema>;
type Call = MessageInitShape<typeof ChannelCallSchema>;

const channelContext = createContextValues().set(streamHoldsEventLoop, false);
const noop = () => {};

/** The reason a call on a channel failed without an answer: the stream's own error. */
export class ChannelBroken extends Error {
  constructor(readonly cause: unknown) {
    super('the call channel broke', { cause });
  }
}

/** A call waiting for its answer; the listener object of its signal. */
class PendingCall {
  constructor(
    readonly channel: CallChannel,
    readonly callId: number,
    readonly signal: AbortSignal,
    readonly resolve: (response: ExecuteToolResponse) => void,
    readonly reject: (reason: unknown) => void,
  ) {}

  handleEvent(): void {
    this.channel.abandon(this);
  }
}

export class CallChannel {
  private readonly outbox = new FrameQueue();
  private readonly pending = new Map<number, PendingCall>();
  private lastCallId = 0;
  private brokenBy: ChannelBroken | undefined;
  private closing = false;
  /** Holds the event loop while calls are in flight (the stream itself does not). */
  private readonly keepAlive = setInterval(noop, 1 << 30).unref();
  /** Aborted when the channel breaks: host requests still running stop. */
  private readonly hostRequestsAbort = new AbortController();

  constructor(
    client: Client<typeof WorkerService>,
    headers: Record<string, string>,
    private readonly hostRequests?: HostRequestHandler,
  ) {
    void this.read(client.calls(this.outbox, { headers, contextValues: channelContext }));
  }

  /** False once the stream failed or ended, or `close()` was called: the worker must open a new channel. */
  get usable(): boolean {
    return this.brokenBy === undefined && !this.closing;
  }

  /**
   * Ends the request side: the worker answers the calls in flight, then ends the stream. Without
   * this a stopping worker's graceful shutdown would wait for the open stream until its grace ran out.
   */
  close(): void {
    this.closing = true;
    this.outbox.end();
  }

  /** Sends one call. Rejects with the signal's reason on abort, with `ChannelBroken` when the stream fails. */
  execute(call: Call, signal: AbortSignal): Promise<ExecuteToolResponse> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.brokenBy !== undefined) return Promise.reject(this.brokenBy);
    if (this.closing) return Promise.reject(new ChannelBroken(new Error('the call channel is closed')));
    const callId = this.nextCallId();
    return new Promise<ExecuteToolResponse>((resolve, reject) => {
      const pending = new PendingCall(this, callId, signal, resolve, reject);
      this.pending.set(callId, pending);
      if (this.pending.size === 1) this.keepAlive.ref();
      signal.addEventListener('abort', pending);
      this.outbox.push({ callId, kind: { case: 'call', value: call } });
    });
  }

  /** @internal the call's signal fired: settle it now and tell the worker to stop it. */
  abandon(pending: PendingCall): void {
    if (!this.settle(pending.callId)) return;
    // After close() the request side is over; the worker cancels what is left when the stream ends.
    this.outbox.push({ callId: pending.callId, kind: { case: 'cancel', value: {} } });
    pending.reject(pending.signal.reason);
  }

  /** Runs a host request and sends its answer; a worker that asks without a handler gets Unimplemented. */
  private runHostRequest(request: HostRequest): void {
    const requestId = request.requestId;
    const handler = this.hostRequests;
    const answer: Promise<HostAnswer> =
      handler === undefined
        ? Promise.resolve({ statusCode: Code.Unimplemented, statusMessage: 'this client takes no host requests on its call channel' })
        : handler(request, this.hostRequestsAbort.signal);
    void answer.then((value) => {
      // After close() the request side is over, and the worker cancels what is left.
      this.outbox.push({ callId: 0, kind: { case: 'hostAnswer', value: { ...value, requestId } } });
    });
  }

  private nextCallId(): number {
    // uint32 on the wire; 0 is skipped so an unset field never names a call.
    do this.lastCallId = (this.lastCallId + 1) >>> 0;
    while (this.lastCallId === 0 || this.pending.has(this.lastCallId));
    return this.lastCallId;
  }

  private settle(callId: number): PendingCall | undefined {
    const pending = this.pending.get(callId);
    if (pending === undefined) return undefined;
    this.pending.delete(callId);
    pending.signal.removeEventListener('abort', pending);
    if (this.pending.size === 0) this.keepAlive.unref();
    return pending;
  }

  private async read(responses: AsyncIterable<CallsResponse>): Promise<void> {
    let cause: unknown;
    try {
      for await (const message of responses) {
        if (message.hostRequest !== undefined) {
          this.runHostRequest(message.hostRequest);
          continue;
        }
        // An answer for a call that was abandoned meanwhile is dropped.
        const pending = this.settle(message.callId);
        if (pending !== undefined && message.response !== undefined) pending.resolve(message.response);
        else if (pending !== undefined) pending.reject(new ChannelBroken(new Error('an answer without a response')));
      }
      cause = new Error('the worker ended the call channel');
    } catch (error) {
      cause = error;
    }
    this.brokenBy = new ChannelBroken(cause);
    this.hostRequestsAbort.abort(this.brokenBy);
    // Nothing more can be written: frames not yet sent are dropped with the stream.
    this.outbox.end();
    this.outbox.clear();
    clearInterval(this.keepAlive);
    for (const callId of [...this.pending.keys()]) this.settle(callId)?.reject(this.brokenBy);
  }
}

/** The request side of the stream: frames written as they are pushed, ended once. */
class FrameQueue implements AsyncIterable<Frame>, AsyncIterator<Frame> {
  private readonly frames: Frame[] = [];
  private waiting: ((result: IteratorResult<Frame>) => void) | undefined;
  private ended = false;

  [Symbol.asyncIterator](): this {
    return this;
  }

  push(frame: Frame): void {
    if (this.ended) return;
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting({ done: false, value: frame });
    } else {
      this.frames.push(frame);
    }
  }

  /** No more frames: those queued still go out, then the request side ends. */
  end(): void {
    this.ended = true;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ done: true, value: undefined });
  }

  clear(): void {
    this.frames.length = 0;
  }

  next(): Promise<IteratorResult<Frame>> {
    if (this.frames.length > 0) return Promise.resolve({ done: false, value: this.frames.shift() as Frame });
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
}
