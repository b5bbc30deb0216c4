/**
 * One real Python worker started directly (no pool, no host bridge), plus two ways to talk to it:
 * the sdk's connect client (typed requests, any headers) and a bare HTTP/2 gRPC call (any bytes,
 * any headers), for requests no well-behaved client can produce.
 */
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import { createClient, type Client } from '@connectrpc/connect';
import { WorkerService } from '../../sdk/src/gen/snakepit/bridge/v1/worker_pb.js';
import { createGrpcHttp2Transport, type GrpcHttp2Transport } from '../../sdk/src/transport/index.js';
import { WorkerProcess } from '../../sdk/src/worker/worker-process.js';
import { pythonPackageRoot } from '../src/index.js';
import { showcase, testPython } from './python-under-test.js';

export interface RawWorker {
  pid: number;
  port: number;
  token: string;
  info: Record<string, unknown>;
  process: WorkerProcess;
  client: Client<typeof WorkerService>;
  transport: GrpcHttp2Transport;
  /** Worker log lines (stdout, stderr, structured logs), for diagnosing a failure. */
  logs: string[];
  stop(): Promise<void>;
}

/**
 * Spawns `python -m snakepit_bridge.server` the way the sdk does (own process group, config line on
 * stdin, readiness on fd 3), with no host bridge and no heartbeat.
 */
export async function startRawWorker(adapter = showcase): Promise<RawWorker> {
  const token = randomBytes(24).toString('hex');
  const logs: string[] = [];
  const inherited = process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [];
  const { process: worker, ready } = await WorkerProcess.start({
    workerId: 'fuzz',
    spec: {
      command: testPython,
      args: ['-u', '-m', 'snakepit_bridge.server', '--adapter', adapter, '--control-fd', '3', '--mode', 'process'],
      env: { ...process.env, PYTHONPATH: [pythonPackageRoot, ...inherited].join(':'), PYTHONUNBUFFERED: '1' },
    },
    config: {
      worker_id: 'fuzz',
      token,
      host_address: null,
      heartbeat: { enabled: false },
      log_level: 'warning',
      max_message_bytes: 256 * 1024 * 1024,
    },
    startupTimeoutMs: 30_000,
    signal: new AbortController().signal,
    onLog: (record) => {
      logs.push(`[${record.source}/${record.level}] ${record.message}`);
      if (logs.length > 500) logs.shift();
    },
  });
  const transport = createGrpcHttp2Transport({ baseUrl: `http://127.0.0.1:${ready.port}` });
  return {
    pid: worker.pid,
    port: ready.port,
    token,
    info: ready.info,
    process: worker,
    client: createClient(WorkerService, transport),
    transport,
    logs,
    async stop() {
      transport.destroy();
      await worker.stop(0);
      try {
        process.kill(-worker.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is gone.
      }
    },
  };
}

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

/** A bare gRPC call: `body` is sent as is (already framed), `headers` replace nothing but add to the defaults. */
export function rawGrpcCall(
  port: number,
  method: string,
  body: Uint8Array,
  headers: http2.OutgoingHttpHeaders,
  timeoutMs = 10_000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
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
