/**
 * A streaming call. The response is an async iterator fed straight from HTTP/2 DATA frames: each
 * message is handed to a waiting consumer as soon as its last byte arrives, a slow consumer pauses
 * the HTTP/2 stream (node then stops returning flow-control credit, so the server's writes block),
 * and a consumer that stops early resets the stream so the server stops producing. While a
 * consumer waits on a fast stream, the event loop lingers briefly instead of sleeping (linger.ts).
 */
import type * as http2 from 'node:http2';
import { fromBinary, type DescMessage, type DescMethodStreaming, type MessageShape } from '@bufbuild/protobuf';
import { Code, ConnectError, type StreamResponse } from '@connectrpc/connect';
import { GrpcRpc } from './grpc-rpc.js';
import { EnvelopeReader } from './grpc-framing.js';
import type { Http2Connection } from './http2-connection.js';
import { LingerPolicy } from './linger.js';

/** Pause the HTTP/2 stream when this much is parsed-ready but unread... */
const pauseAtMessages = 32;
const pauseAtBytes = 1 << 20;
/** ...and resume once the consumer has caught up to here, so the pipe refills before it runs dry. */
const resumeAtMessages = 8;
const resumeAtBytes = 256 << 10;

const done: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

export class StreamingRpc<I extends DescMessage, O extends DescMessage>
  extends GrpcRpc
  implements AsyncIterableIterator<MessageShape<O>>
{
  private readonly reader: EnvelopeReader;
  private readonly linger = new LingerPolicy();
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private paused = false;
  /** Terminal error still to be reported to the consumer, after the messages queued before it. */
  private failure: ConnectError | undefined;
  /** The HTTP/2 stream has closed: nothing more will be queued. */
  private ended = false;
  /** The consumer has seen the end (done, error, or its own return()). */
  private consumed = false;
  private response: StreamResult<I, O> | undefined;
  private resolveOpen!: (response: StreamResponse<I, O>) => void;
  private rejectOpen!: (error: ConnectError) => void;
  private resolveNext: ((result: IteratorResult<MessageShape<O>>) => void) | undefined;
  private rejectNext: ((error: ConnectError) => void) | undefined;

  constructor(
    connection: Http2Connection,
    readMaxBytes: number,
    private readonly method: DescMethodStreaming<I, O>,
    holdsEventLoop: boolean,
  ) {
    super(connection, holdsEventLoop);
    this.reader = new EnvelopeReader(readMaxBytes);
  }

  /**
   * Starts the call and resolves with the response once its headers arrive (as connect's own
   * transports do); `request` is the only request message of a server stream, or undefined when the
   * caller writes request messages with `writeRequests`.
   */
  run(
    headers: http2.OutgoingHttpHeaders,
    request: Uint8Array | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<StreamResponse<I, O>> {
    return new Promise<StreamResponse<I, O>>((resolve, reject) => {
      this.resolveOpen = resolve;
      this.rejectOpen = reject;
      this.begin(headers, request, signal, timeoutMs);
    });
  }

  /** Client and bidi streaming: frames and writes each request message, honouring write backpressure. */
  async writeRequests(messages: AsyncIterable<Buffer>): Promise<void> {
    const stream = this.stream;
    if (stream === undefined) return;
    try {
      for await (const frame of messages) {
        if (this.finished || stream.closed || stream.destroyed) return;
        if (!stream.write(frame)) await waitForDrain(stream);
      }
      if (!stream.closed && !stream.destroyed) stream.end();
    } catch (error) {
      this.abort(ConnectError.from(error, Code.Internal));
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<MessageShape<O>>> {
    if (this.queue.length > 0) {
      const payload = this.queue.shift() as Uint8Array;
      this.queuedBytes -= payload.byteLength;
      if (this.paused && this.queue.length <= resumeAtMessages && this.queuedBytes <= resumeAtBytes) {
        this.paused = false;
        this.stream?.resume();
      }
      const message = this.parse(payload);
      if (message instanceof ConnectError) return Promise.reject(message);
      return Promise.resolve({ done: false, value: message });
    }
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      this.consumed = true;
      return Promise.reject(failure);
    }
    if (this.ended || this.consumed) {
      this.consumed = true;
      return Promise.resolve(done);
    }
    // The consumer keeps up: it waits for this message, so decide whether to linger for it.
    this.linger.wait();
    return new Promise((resolve, reject) => {
      this.resolveNext = resolve;
      this.rejectNext = reject;
    });
  }

  /** The consumer stopped early (`break`, or an error in its loop body): cancel the server's work. */
  return(): Promise<IteratorResult<MessageShape<O>>> {
    this.consumed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.failure = undefined;
    if (!this.finished) {
      this.finished = true;
      this.unwatch();
      this.cancelStream();
    }
    if (this.resolveNext !== undefined) this.settleNext(done);
    return Promise.resolve(done);
  }

  protected onHeader(header: http2.IncomingHttpHeaders): void {
    // A trailers-only response is settled when the stream closes, with its status.
    if (header['grpc-status'] === undefined) this.openResponse();
  }

  protected onData(chunk: Buffer): void {
    let completed: Uint8Array | Uint8Array[] | undefined;
    try {
      completed = this.reader.push(chunk);
    } catch (error) {
      this.abort(ConnectError.from(error, Code.Internal));
      return;
    }
    if (completed === undefined) return;
    if (Array.isArray(completed)) for (const payload of completed) this.enqueue(payload);
    else this.enqueue(completed);
  }

  protected onClosed(status: ConnectError | undefined): void {
    this.ended = true;
    this.unwatch();
    if (status === undefined && this.reader.hasPartialMessage) {
      status = new ConnectError('protocol error: the response ended inside a message', Code.Internal);
    }
    if (status !== undefined) return this.fail(status);
    this.finished = true;
    if (this.response === undefined) this.openResponse();
    if (this.resolveNext !== undefined && this.queue.length === 0) this.settleNext(done);
  }

  /** Queued messages stay readable; the error is reported after them, as the server sent it. */
  protected fail(error: ConnectError): void {
    this.finished = true;
    this.unwatch();
    if (this.response === undefined) {
      this.rejectOpen(error);
      return;
    }
    if (this.consumed) return;
    if (this.rejectNext !== undefined) {
      const reject = this.rejectNext;
      this.resolveNext = this.rejectNext = undefined;
      this.linger.settle(false);
      this.consumed = true;
      reject(error);
      return;
    }
    this.failure = error;
  }

  /** Signal and deadline errors preempt messages that were received but not yet read. */
  protected abort(error: ConnectError): void {
    if (this.finished) return;
    this.queue.length = 0;
    this.queuedBytes = 0;
    super.abort(error);
  }

  private openResponse(): void {
    this.response = new StreamResult(this, this.method);
    this.resolveOpen(this.response);
  }

  private enqueue(payload: Uint8Array): void {
    const resolve = this.resolveNext;
    if (resolve !== undefined) {
      // The consumer is waiting and nothing is queued ahead of this message: hand it over now.
      const reject = this.rejectNext as (error: ConnectError) => void;
      this.resolveNext = this.rejectNext = undefined;
      this.linger.settle(true);
      const message = this.parse(payload);
      if (message instanceof ConnectError) reject(message);
      else resolve({ done: false, value: message });
      return;
    }
    this.queue.push(payload);
    this.queuedBytes += payload.byteLength;
    if (!this.paused && (this.queue.length >= pauseAtMessages || this.queuedBytes >= pauseAtBytes)) {
      this.paused = true;
      this.stream?.pause();
    }
  }

  /** Parses one message; a malformed one ends the call (and the stream) with Internal. */
  private parse(payload: Uint8Array): MessageShape<O> | ConnectError {
    try {
      return fromBinary(this.method.output, payload);
    } catch (error) {
      void this.return();
      return new ConnectError(`failed to parse ${this.method.output.typeName}`, Code.Internal, undefined, undefined, error);
    }
  }

  private settleNext(result: IteratorResult<MessageShape<O>>): void {
    const resolve = this.resolveNext;
    this.resolveNext = this.rejectNext = undefined;
    this.linger.settle(false);
    if (result.done) this.consumed = true;
    resolve?.(result);
  }
}

/** connect's StreamResponse; `message` is the call itself, and metadata is converted lazily. */
class StreamResult<I extends DescMessage, O extends DescMessage> implements StreamResponse<I, O> {
  readonly stream = true;

  constructor(
    readonly message: StreamingRpc<I, O>,
    readonly method: DescMethodStreaming<I, O>,
  ) {}

  get service() {
    return this.method.parent;
  }

  get header(): Headers {
    return this.message.responseHeader();
  }

  get trailer(): Headers {
    return this.message.responseTrailer();
  }
}

function waitForDrain(stream: http2.ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const settle = () => {
      stream.off('drain', settle);
      stream.off('close', settle);
      resolve();
    };
    stream.on('drain', settle);
    stream.on('close', settle);
  });
}
