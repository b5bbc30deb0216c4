/**
 * What unary and streaming calls share: opening the HTTP/2 stream, honouring the caller's
 * AbortSignal and deadline (both cancel the stream with RST_STREAM CANCEL, which grpcio turns into
 * task cancellation), and deciding the call's status once the stream closes.
 *
 * node's stream events are wired to module-level functions that find their call through a symbol
 * on the stream, so starting a call allocates no closures; with neither signal nor timeout, no
 * timer or listener is created at all.
 */
import * as http2 from 'node:http2';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  connectionError,
  errorFromResetCode,
  errorFromStatus,
  hasGrpcStatus,
  headersFromNode,
  responseHeaderError,
  type ResponseHeaders,
} from './grpc-status.js';
import { endWithEnvelope } from './grpc-framing.js';
import type { Http2Connection, SessionSlot } from './http2-connection.js';

const callKey = Symbol('snakepit.grpcCall');
type CallStream = http2.ClientHttp2Stream & { [callKey]: GrpcRpc };

export abstract class GrpcRpc {
  protected stream: http2.ClientHttp2Stream | undefined;
  protected header: ResponseHeaders | undefined;
  protected trailer: http2.IncomingHttpHeaders | undefined;
  /** Once true the outcome is decided; later stream events only release resources. */
  protected finished = false;
  private slot: SessionSlot | undefined;
  private streamError: unknown;
  private signal: AbortSignal | undefined;
  private timer: NodeJS.Timeout | undefined;
  private deadline = 0;
  private headerCache: Headers | undefined;
  private trailerCache: Headers | undefined;

  constructor(
    protected readonly connection: Http2Connection,
    /** False for a long-lived stream that must not keep the process alive (see `streamHoldsEventLoop`). */
    private readonly holdsEventLoop = true,
  ) {}

  /** Reports the response header block (a 200 with gRPC content type is already checked). */
  protected abstract onHeader(header: ResponseHeaders): void;
  protected abstract onData(chunk: Buffer): void;
  /** The stream closed; `error` is its status (undefined means grpc-status OK). */
  protected abstract onClosed(error: ConnectError | undefined): void;
  /** Ends the call with an error; implementations must set `finished` and call `unwatch()`. */
  protected abstract fail(error: ConnectError): void;

  /** Watches the signal and deadline, then opens the stream; a failure to open fails the call. */
  protected begin(
    headers: http2.OutgoingHttpHeaders,
    request: Uint8Array | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): void {
    if (!this.watch(signal, timeoutMs)) return;
    try {
      this.open(headers, request);
    } catch (error) {
      this.fail(ConnectError.from(error, Code.Unavailable));
    }
  }

  /** Response headers as connect's `Headers`, built on first use only. */
  responseHeader(): Headers {
    return (this.headerCache ??= headersFromNode(this.header));
  }

  /** Trailers as `Headers`; empty until they arrive (connect fills trailers at end of stream too). */
  responseTrailer(): Headers {
    if (this.trailer === undefined) return new Headers();
    return (this.trailerCache ??= headersFromNode(this.trailer));
  }

  /**
   * Arms the caller's signal and deadline. Returns false, having failed the call, when the signal
   * is already aborted, so nothing is sent for a call nobody waits for.
   */
  protected watch(signal: AbortSignal | undefined, timeoutMs: number | undefined): boolean {
    if (signal !== undefined) {
      if (signal.aborted) {
        this.fail(abortError(signal));
        return false;
      }
      this.signal = signal;
      signal.addEventListener('abort', this);
    }
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      this.timer = setTimeout(expire, timeoutMs, this);
    }
    return true;
  }

  protected unwatch(): void {
    if (this.signal !== undefined) {
      this.signal.removeEventListener('abort', this);
      this.signal = undefined;
    }
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** The caller's AbortSignal fired (EventTarget calls this for listener objects). */
  handleEvent(): void {
    if (this.signal !== undefined) this.abort(abortError(this.signal));
  }

  expire(): void {
    this.timer = undefined;
    this.abort(new ConnectError('the operation timed out', Code.DeadlineExceeded));
  }

  /** Fails the call and resets the stream so the server stops working on it. */
  protected abort(error: ConnectError): void {
    if (this.finished) return;
    this.cancelStream();
    this.fail(error);
  }

  protected cancelStream(): void {
    const stream = this.stream;
    if (stream !== undefined && !stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  /** Opens the stream; `request`, when given, is the only request message and ends the stream. */
  protected open(headers: http2.OutgoingHttpHeaders, request: Uint8Array | undefined): void {
    const { slot, stream } = this.connection.request(headers, this.holdsEventLoop);
    this.slot = slot;
    this.stream = stream;
    (stream as CallStream)[callKey] = this;
    stream.on('response', onStreamResponse);
    stream.on('data', onStreamData);
    stream.on('trailers', onStreamTrailers);
    stream.on('error', onStreamError);
    stream.once('close', onStreamClose);
    if (request !== undefined) endWithEnvelope(stream, request);
  }

  /** @internal dispatch targets for the module-level listeners below */
  receiveHeader(header: ResponseHeaders): void {
    this.header = header;
    if (this.finished) return;
    const error = responseHeaderError(header);
    if (error !== undefined) this.abort(error);
    else this.onHeader(header);
  }

  receiveData(chunk: Buffer): void {
    if (!this.finished) this.onData(chunk);
  }

  receiveTrailers(trailer: http2.IncomingHttpHeaders): void {
    this.trailer = trailer;
  }

  receiveError(error: unknown): void {
    this.streamError ??= error;
  }

  receiveClose(): void {
    this.slot?.release(this.holdsEventLoop);
    if (!this.finished) this.onClosed(this.closeStatus());
  }

  /** gRPC status of a closed stream: from trailers, a trailers-only header, or how it died. */
  private closeStatus(): ConnectError | undefined {
    const header = this.header;
    if (header !== undefined) {
      if (hasGrpcStatus(header)) return errorFromStatus(header, header);
      if (this.trailer !== undefined && hasGrpcStatus(this.trailer)) return errorFromStatus(this.trailer, header);
    }
    const slot = this.slot;
    if (slot !== undefined && (slot.session.destroyed || slot.failure !== undefined || slot.draining)) {
      if (this.connection.isDestroyed) {
        return new ConnectError(`the transport to ${this.connection.authority} was destroyed during the call`, Code.Unavailable);
      }
      return connectionError(this.connection.authority, this.streamError ?? slot.failure);
    }
    const rstCode = this.stream?.rstCode ?? http2.constants.NGHTTP2_NO_ERROR;
    if (rstCode === http2.constants.NGHTTP2_CANCEL && this.deadline !== 0 && Date.now() >= this.deadline) {
      return new ConnectError('the operation timed out', Code.DeadlineExceeded);
    }
    if (rstCode !== http2.constants.NGHTTP2_NO_ERROR) return errorFromResetCode(rstCode);
    if (this.streamError !== undefined) return connectionError(this.connection.authority, this.streamError);
    return new ConnectError('protocol error: the response ended without a grpc-status', Code.Internal);
  }
}

function abortError(signal: AbortSignal): ConnectError {
  const reason: unknown = signal.reason;
  return ConnectError.from(reason ?? new DOMException('This operation was aborted', 'AbortError'), Code.Canceled);
}

function expire(call: GrpcRpc): void {
  call.expire();
}

function onStreamResponse(this: CallStream, header: ResponseHeaders): void {
  this[callKey].receiveHeader(header);
}

function onStreamData(this: CallStream, chunk: Buffer): void {
  this[callKey].receiveData(chunk);
}

function onStreamTrailers(this: CallStream, trailer: http2.IncomingHttpHeaders): void {
  this[callKey].receiveTrailers(trailer);
}

function onStreamError(this: CallStream, error: unknown): void {
  this[callKey].receiveError(error);
}

function onStreamClose(this: CallStream): void {
  this[callKey].receiveClose();
}
