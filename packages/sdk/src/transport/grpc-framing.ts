/**
 * gRPC message framing (PROTOCOL-HTTP2 "Length-Prefixed-Message"): a flag byte, a 4-byte big-endian
 * length, then the payload. Requests are framed into one Buffer so each call is a single write;
 * responses are split without copying unless a message spans several DATA chunks.
 */
import type { Writable } from 'node:stream';
import { Code, ConnectError } from '@connectrpc/connect';

export const envelopePrefixBytes = 5;

/** Bit 0 of the flag byte; we never negotiate compression, so a set bit is a protocol error. */
const compressedFlag = 0b0000_0001;

/** Frames one serialized message: one allocation, one copy of the payload. */
export function encodeEnvelope(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(envelopePrefixBytes + payload.byteLength);
  frame[0] = 0;
  frame.writeUInt32BE(payload.byteLength, 1);
  frame.set(payload, envelopePrefixBytes);
  return frame;
}

/**
 * From this size on, a payload is written after its prefix rather than copied behind it: the copy
 * (and the garbage it leaves) costs more than node's two-buffer writev.
 */
const copyLimitBytes = 64 * 1024;

/** Sends `payload` as the whole request body and ends the stream, in one write either way. */
export function endWithEnvelope(stream: Writable, payload: Uint8Array): void {
  if (payload.byteLength < copyLimitBytes) {
    stream.end(encodeEnvelope(payload));
    return;
  }
  const prefix = Buffer.allocUnsafe(envelopePrefixBytes);
  prefix[0] = 0;
  prefix.writeUInt32BE(payload.byteLength, 1);
  // end() uncorks, so prefix and payload leave together in a single writev.
  stream.cork();
  stream.write(prefix);
  stream.end(payload);
}

/**
 * Incremental splitter for response bodies. Chunks are kept as they arrive and joined only when a
 * message straddles them, so a message that fits one DATA frame is handed out as a zero-copy view.
 */
export class EnvelopeReader {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Payload length of the message being assembled, or -1 while its prefix is still incomplete. */
  private messageBytes = -1;

  constructor(private readonly readMaxBytes: number) {}

  /** True when bytes of an unfinished message are held; at end of stream this means truncation. */
  get hasPartialMessage(): boolean {
    return this.bufferedBytes > 0 || this.messageBytes >= 0;
  }

  /**
   * Adds a chunk and returns the payloads it completed (usually zero or one, so the common case
   * allocates no array). Throws a ConnectError for oversized or compressed messages.
   */
  push(chunk: Buffer): Uint8Array | Uint8Array[] | undefined {
    // A stream's usual DATA frame is exactly one whole message with nothing held before it; taking
    // that case first skips the chunk list and hands out one view instead of making two.
    if (this.messageBytes < 0 && this.bufferedBytes === 0 && chunk.byteLength >= envelopePrefixBytes) {
      if (chunk.byteLength === envelopePrefixBytes + this.messageLength(chunk)) return chunk.subarray(envelopePrefixBytes);
    }
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.byteLength;
    let completed: Uint8Array | Uint8Array[] | undefined;
    for (;;) {
      if (this.messageBytes < 0 && !this.readPrefix()) return completed;
      if (this.bufferedBytes < this.messageBytes) return completed;
      const payload = this.take(this.messageBytes);
      this.messageBytes = -1;
      if (completed === undefined) completed = payload;
      else if (Array.isArray(completed)) completed.push(payload);
      else completed = [completed, payload];
    }
  }

  private readPrefix(): boolean {
    if (this.bufferedBytes < envelopePrefixBytes) return false;
    let first = this.chunks[0] as Buffer;
    if (first.byteLength < envelopePrefixBytes) {
      first = Buffer.concat(this.chunks, this.bufferedBytes);
      this.chunks = [first];
    }
    this.messageBytes = this.messageLength(first);
    this.consume(envelopePrefixBytes);
    return true;
  }

  /** Checks the prefix at the start of `frame` and returns the payload length it announces. */
  private messageLength(frame: Buffer): number {
    const flags = frame[0] as number;
    if ((flags & compressedFlag) !== 0) {
      throw new ConnectError('protocol error: received a compressed message, but no compression was negotiated', Code.Internal);
    }
    if (flags !== 0) {
      throw new ConnectError(`protocol error: invalid message flags 0x${flags.toString(16)}`, Code.Internal);
    }
    const length = frame.readUInt32BE(1);
    if (length > this.readMaxBytes) {
      throw new ConnectError(
        `message size ${length} is larger than the configured readMaxBytes ${this.readMaxBytes}`,
        Code.ResourceExhausted,
      );
    }
    return length;
  }

  private take(length: number): Uint8Array {
    let first = this.chunks[0];
    if (first === undefined) return new Uint8Array(0);
    if (first.byteLength < length) {
      first = Buffer.concat(this.chunks, this.bufferedBytes);
      this.chunks = [first];
    }
    const payload = first.subarray(0, length);
    this.consume(length);
    return payload;
  }

  /** Drops `length` bytes from the front; callers guarantee they lie in the first chunk. */
  private consume(length: number): void {
    const first = this.chunks[0] as Buffer;
    this.bufferedBytes -= length;
    if (first.byteLength === length) this.chunks.shift();
    else this.chunks[0] = first.subarray(length);
  }
}
