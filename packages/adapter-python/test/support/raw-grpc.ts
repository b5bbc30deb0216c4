/**
 * A bare HTTP/2 gRPC call to a worker (any bytes, any headers; h2c, or TLS for a worker run as a
 * service) and protobuf wire helpers, for requests no well-behaved client can produce.
 */
import http2 from 'node:http2';

/** Frames one message (PROTOCOL-HTTP2 Length-Prefixed-Message); `flag` 1 claims compression. */
export function envelope(payload: Uint8Array, flag = 0, declaredLength = payload.byteLength): Buffer {
  const frame = Buffer.alloc(5 + payload.byteLength);
  frame[0] = flag;
  frame.writeUInt32BE(declaredLength, 1);
  frame.set(payload, 5);
  return frame;
}

export interface RawResponse {
  httpStatus: number | undefined;
  /** grpc-status from trailers (or a trailers-only response); undefined when none came. */
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
  /** Response messages, unframed. */
  messages: Buffer[];
  /** Set when the HTTP/2 stream itself failed (reset, connection error). */
  streamError: string | undefined;
}

/** TLS for a raw call: the CA to trust, a client certificate for mTLS, the name to check (default: the endpoint's host). */
export interface RawTls {
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
}

/** Where a raw call goes: a port on 127.0.0.1 (h2c), or an endpoint "host:port" ("[::1]:port"), over TLS when `tls` is given. */
export type RawTarget = number | { endpoint: string; tls?: RawTls };

function connect(target: RawTarget): http2.ClientHttp2Session {
  if (typeof target === 'number') return http2.connect(`http://127.0.0.1:${target}`);
  if (target.tls === undefined) return http2.connect(`http://${target.endpoint}`);
  return http2.connect(`https://${target.endpoint}`, target.tls);
}

/**
 * A bare gRPC call: `body` is sent as is (already framed), `headers` replace nothing but add to the
 * defaults. A failed TLS handshake (or any connection error) is reported in `streamError`.
 */
export function rawGrpcCall(
  target: RawTarget,
  method: string,
  body: Uint8Array,
  headers: http2.OutgoingHttpHeaders,
  timeoutMs = 10_000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = connect(target);
    const chunks: Buffer[] = [];
    const result: RawResponse = {
      httpStatus: undefined,
      grpcStatus: undefined,
      grpcMessage: undefined,
      messages: [],
      streamError: undefined,
    };
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      if (error) {
        reject(error);
        return;
      }
      const all = Buffer.concat(chunks);
      for (let offset = 0; offset + 5 <= all.length; ) {
        const length = all.readUInt32BE(offset + 1);
        result.messages.push(all.subarray(offset + 5, offset + 5 + length));
        offset += 5 + length;
      }
      resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`raw call ${method} got no answer within ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (error) => {
      result.streamError = `session: ${error.message}`;
      finish();
    });
    const readStatus = (fields: http2.IncomingHttpHeaders) => {
      const status = fields['grpc-status'];
      if (status !== undefined) result.grpcStatus = Number(status);
      const message = fields['grpc-message'];
      if (typeof message === 'string') result.grpcMessage = decodeURIComponent(message);
    };
    const stream = session.request({
      ':method': 'POST',
      ':path': `/snakepit.bridge.v1.WorkerService/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    // A gRPC call is over once its status arrives, even while our request is still being sent
    // (a server may refuse a call without reading its body).
    stream.on('response', (fields) => {
      result.httpStatus = Number(fields[':status']);
      readStatus(fields);
      if (result.grpcStatus !== undefined) finish();
    });
    stream.on('trailers', (fields) => {
      readStatus(fields);
      finish();
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error) => {
      result.streamError = `stream: ${error.message}`;
    });
    stream.on('close', () => finish());
    stream.end(Buffer.from(body));
  });
}

/** Protobuf wire helpers for hand-made (possibly invalid) messages. */
export const wire = {
  varint(value: number): number[] {
    const bytes: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      bytes.push((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    bytes.push(rest);
    return bytes;
  },
  /** A length-delimited field (wire type 2). */
  field(number: number, payload: ArrayLike<number>): number[] {
    return [...wire.varint((number << 3) | 2), ...wire.varint(payload.length), ...Array.from(payload)];
  },
  utf8(text: string): number[] {
    return Array.from(Buffer.from(text, 'utf8'));
  },
};
