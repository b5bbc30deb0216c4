/**
 * Translation between gRPC's HTTP/2 metadata and connect's error model: grpc-status/grpc-message
 * (from trailers or a trailers-only header block), HTTP/2 reset codes, dead connections, and the
 * grpc-timeout header. Works on node's plain header objects so the success path builds no Headers.
 */
import { constants, type IncomingHttpHeaders, type IncomingHttpStatusHeader } from 'node:http2';
import { Code, ConnectError } from '@connectrpc/connect';
import { codeFromHttpStatus, findTrailerError } from '@connectrpc/connect/protocol-grpc';

export type ResponseHeaders = IncomingHttpHeaders & IncomingHttpStatusHeader;

const colon = 58;

/** Copies node's header object into a fetch Headers (pseudo-headers dropped). Only built on demand. */
export function headersFromNode(...sources: (IncomingHttpHeaders | undefined)[]): Headers {
  const headers = new Headers();
  for (const source of sources) {
    if (source === undefined) continue;
    for (const key in source) {
      if (key.charCodeAt(0) === colon) continue;
      const value = source[key];
      if (typeof value === 'string') headers.append(key, value);
      else if (value !== undefined) for (const item of value) headers.append(key, item);
    }
  }
  return headers;
}

export function hasGrpcStatus(source: IncomingHttpHeaders | undefined): boolean {
  return source !== undefined && source['grpc-status'] !== undefined;
}

/**
 * grpc-message is percent-encoded; the spec asks receivers to keep undecodable sequences as they
 * are rather than fail, so each run of escapes is decoded on its own.
 */
export function decodeGrpcMessage(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : value.join(',');
  if (!text.includes('%')) return text;
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/**
 * The error carried by a status block (trailers, or the headers of a trailers-only response), or
 * undefined when it says OK. The error's metadata holds the response headers and trailers, as
 * connect's own gRPC transport does.
 */
export function errorFromStatus(
  status: IncomingHttpHeaders,
  header: IncomingHttpHeaders | undefined,
): ConnectError | undefined {
  const code = status['grpc-status'];
  const details = status['grpc-status-details-bin'];
  if (code === '0' && details === undefined) return undefined;
  const metadata = header === status ? headersFromNode(status) : headersFromNode(status, header);
  if (details !== undefined) return errorFromStatusDetails(status, metadata);
  const numeric = typeof code === 'string' ? Number.parseInt(code, 10) : Number.NaN;
  if (!(numeric in Code)) {
    return new ConnectError(`protocol error: invalid grpc-status ${String(code)}`, Code.Internal, metadata);
  }
  return new ConnectError(decodeGrpcMessage(status['grpc-message']), numeric as Code, metadata);
}

/** Rare path (rich error details): defer to connect's decoder of google.rpc.Status. */
function errorFromStatusDetails(status: IncomingHttpHeaders, metadata: Headers): ConnectError | undefined {
  let error: ConnectError | undefined;
  try {
    error = findTrailerError(headersFromNode(status));
  } catch (cause) {
    return new ConnectError('protocol error: invalid grpc-status-details-bin', Code.Internal, metadata, undefined, cause);
  }
  if (error === undefined) return undefined;
  const withMetadata = new ConnectError(error.rawMessage, error.code, metadata);
  withMetadata.details = error.details;
  return withMetadata;
}

/** Checks the response header block of a gRPC response before any message is trusted. */
export function responseHeaderError(header: ResponseHeaders): ConnectError | undefined {
  const httpStatus = header[':status'] ?? 0;
  if (httpStatus !== 200) {
    return new ConnectError(`HTTP ${httpStatus}`, codeFromHttpStatus(httpStatus), headersFromNode(header));
  }
  // A trailers-only response is judged by its grpc-status alone, as grpc-go and grpc-core do.
  if (hasGrpcStatus(header)) return undefined;
  const contentType = header['content-type'];
  if (
    contentType === undefined ||
    !(contentType === 'application/grpc' || contentType.startsWith('application/grpc+proto') || contentType.startsWith('application/grpc;'))
  ) {
    return new ConnectError(`unsupported content type ${String(contentType)}`, Code.Unknown, headersFromNode(header));
  }
  const encoding = header['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    return new ConnectError(`unsupported response encoding "${String(encoding)}"`, Code.Internal, headersFromNode(header));
  }
  return undefined;
}

/**
 * Maps an RST_STREAM that arrived before any grpc-status, following gRPC's
 * doc/PROTOCOL-HTTP2.md "Errors" table.
 */
export function errorFromResetCode(rstCode: number): ConnectError {
  const name = resetCodeNames[rstCode] ?? `0x${rstCode.toString(16)}`;
  const message = `stream reset by the server (HTTP/2 ${name}) before a grpc-status was received`;
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return new ConnectError(message, Code.Unavailable);
    case constants.NGHTTP2_CANCEL:
      return new ConnectError(message, Code.Canceled);
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return new ConnectError(message, Code.ResourceExhausted);
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return new ConnectError(message, Code.PermissionDenied);
    default:
      return new ConnectError(message, Code.Internal);
  }
}

const resetCodeNames: Record<number, string> = {
  [constants.NGHTTP2_NO_ERROR]: 'NO_ERROR',
  [constants.NGHTTP2_PROTOCOL_ERROR]: 'PROTOCOL_ERROR',
  [constants.NGHTTP2_INTERNAL_ERROR]: 'INTERNAL_ERROR',
  [constants.NGHTTP2_FLOW_CONTROL_ERROR]: 'FLOW_CONTROL_ERROR',
  [constants.NGHTTP2_SETTINGS_TIMEOUT]: 'SETTINGS_TIMEOUT',
  [constants.NGHTTP2_STREAM_CLOSED]: 'STREAM_CLOSED',
  [constants.NGHTTP2_FRAME_SIZE_ERROR]: 'FRAME_SIZE_ERROR',
  [constants.NGHTTP2_REFUSED_STREAM]: 'REFUSED_STREAM',
  [constants.NGHTTP2_CANCEL]: 'CANCEL',
  [constants.NGHTTP2_COMPRESSION_ERROR]: 'COMPRESSION_ERROR',
  [constants.NGHTTP2_CONNECT_ERROR]: 'CONNECT_ERROR',
  [constants.NGHTTP2_ENHANCE_YOUR_CALM]: 'ENHANCE_YOUR_CALM',
  [constants.NGHTTP2_INADEQUATE_SECURITY]: 'INADEQUATE_SECURITY',
  [constants.NGHTTP2_HTTP_1_1_REQUIRED]: 'HTTP_1_1_REQUIRED',
};

/**
 * A call that ended because its connection failed or went away. Unavailable tells callers the
 * call may be retried on a fresh connection (which the transport opens on the next call).
 */
export function connectionError(authority: string, cause: unknown): ConnectError {
  const reason = describeCause(cause);
  return new ConnectError(
    `connection to ${authority} was lost before the call completed${reason ? `: ${reason}` : ''}`,
    Code.Unavailable,
    undefined,
    undefined,
    cause,
  );
}

function describeCause(cause: unknown): string {
  let current: unknown = cause;
  // node wraps the socket error of a failed session (ECONNREFUSED, ECONNRESET) in a stream error.
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('ERR_HTTP2')) return `${code} ${current.message}`;
    if (current.cause === undefined) return current.message;
    current = current.cause;
  }
  return '';
}

/**
 * grpc-timeout allows at most 8 digits per unit, so long deadlines switch to coarser units,
 * rounding up so the server never gives up before the client does.
 */
export function encodeTimeout(timeoutMs: number): string {
  const milliseconds = Math.max(1, Math.ceil(timeoutMs));
  if (milliseconds <= maxTimeoutDigits) return `${milliseconds}m`;
  const seconds = Math.ceil(milliseconds / 1000);
  if (seconds <= maxTimeoutDigits) return `${seconds}S`;
  return `${Math.min(maxTimeoutDigits, Math.ceil(seconds / 3600))}H`;
}

const maxTimeoutDigits = 99_999_999;
