/**
 * A unary call: the framed request goes out in a single write that also ends the stream; the one
 * response message is parsed when the stream closes with an OK status.
 */
import type * as http2 from 'node:http2';
import { fromBinary, type DescMessage, type DescMethodUnary, type MessageShape } from '@bufbuild/protobuf';
import { Code, ConnectError, type UnaryResponse } from '@connectrpc/connect';
import { GrpcRpc } from './grpc-rpc.js';
import { EnvelopeReader } from './grpc-framing.js';
import type { Http2Connection } from './http2-connection.js';

export class UnaryRpc<I extends DescMessage, O extends DescMessage> extends GrpcRpc {
  private readonly reader: EnvelopeReader;
  private payload: Uint8Array | undefined;
  private resolve!: (response: UnaryResponse<I, O>) => void;
  private reject!: (error: ConnectError) => void;

  constructor(
    connection: Http2Connection,
    readMaxBytes: number,
    private readonly method: DescMethodUnary<I, O>,
  ) {
    super(connection);
    this.reader = new EnvelopeReader(readMaxBytes);
  }

  run(
    headers: http2.OutgoingHttpHeaders,
    request: Uint8Array,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<UnaryResponse<I, O>> {
    return new Promise<UnaryResponse<I, O>>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.begin(headers, request, signal, timeoutMs);
    });
  }

  protected onHeader(): void {}

  protected onData(chunk: Buffer): void {
    let completed: Uint8Array | Uint8Array[] | undefined;
    try {
      completed = this.reader.push(chunk);
    } catch (error) {
      this.abort(ConnectError.from(error, Code.Internal));
      return;
    }
    if (completed === undefined) return;
    if (this.payload !== undefined || Array.isArray(completed)) {
      this.abort(new ConnectError('protocol error: received extra output message for unary method', Code.Unimplemented));
      return;
    }
    this.payload = completed;
  }

  protected onClosed(status: ConnectError | undefined): void {
    if (status !== undefined) return this.fail(status);
    if (this.reader.hasPartialMessage) {
      return this.fail(new ConnectError('protocol error: the response ended inside a message', Code.Internal));
    }
    if (this.payload === undefined) {
      return this.fail(new ConnectError('protocol error: missing output message for unary method', Code.Unimplemented));
    }
    let message: MessageShape<O>;
    try {
      message = fromBinary(this.method.output, this.payload);
    } catch (error) {
      return this.fail(
        new ConnectError(`failed to parse ${this.method.output.typeName}`, Code.Internal, undefined, undefined, error),
      );
    }
    this.finished = true;
    this.unwatch();
    this.resolve(new UnaryResult(this, this.method, message));
  }

  protected fail(error: ConnectError): void {
    this.finished = true;
    this.unwatch();
    this.reject(error);
  }
}

/** connect's UnaryResponse with headers and trailers converted only if someone reads them. */
class UnaryResult<I extends DescMessage, O extends DescMessage> implements UnaryResponse<I, O> {
  readonly stream = false;

  constructor(
    private readonly call: GrpcRpc,
    readonly method: DescMethodUnary<I, O>,
    readonly message: MessageShape<O>,
  ) {}

  get service() {
    return this.method.parent;
  }

  get header(): Headers {
    return this.call.responseHeader();
  }

  get trailer(): Headers {
    return this.call.responseTrailer();
  }
}
