/**
 * A wire-level harness for adapter authors: starts one worker process exactly as the pool does
 * (own process group, configuration line on stdin, readiness on fd 3), with no pool, host bridge or
 * heartbeat in front of it, and hands back a typed gRPC client for its `WorkerService`. Tests then
 * send any request, well-formed or not, with any headers, and see what the worker itself answers;
 * nothing in between retries, validates or cleans up. `connectWorkerClient` is the same client for
 * a worker server that is already running (a service, over TLS).
 */
import { randomBytes } from 'node:crypto';
import { createClient, type Client } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { WorkerExitInfo, WorkerLogRecord } from '../adapter/v1/adapter.js';
import { WorkerService, type ChannelCallSchema, type ExecuteToolResponse } from '../gen/snakepit/bridge/v1/worker_pb.js';
import { createGrpcHttp2Transport, type GrpcHttp2TransportOptions } from '../transport/index.js';
import { CallChannel } from '../workers/call-channel.js';
import { defaultMaxMessageBytes } from '../workers/grpc-process-adapter.js';
import { WorkerProcess, type WorkerProcessSpec } from '../workers/worker-process.js';

export interface WorkerHarnessOptions {
  /** How to start the worker: command, arguments, environment, working folder. */
  spec: WorkerProcessSpec;
  /** The worker's id in its configuration and log records. Default "harness". */
  workerId?: string;
  /** Log level in the configuration line. Default "warning" (tests that fuzz a worker would drown in info lines). */
  logLevel?: string;
  /** `max_message_bytes` in the configuration line. Default 256 MiB, the pool's default. */
  maxMessageBytes?: number;
  /**
   * Added to the configuration line, after (so overriding) the harness's own fields: `worker_id`,
   * `token`, `host_address: null`, `heartbeat: { enabled: false }`, `log_level`, `max_message_bytes`.
   * Default: nothing added.
   */
  config?: Record<string, unknown>;
  /** How long the worker may take to announce readiness. Default 30 000 ms. */
  startupTimeoutMs?: number;
  /** How many of the worker's most recent log records `logs` keeps. Default 500. */
  keepLogs?: number;
}

/** A call on a call channel: a `ChannelCall` message (the tool call and its timeout). */
export type ChannelCallInit = MessageInitShape<typeof ChannelCallSchema>;

/** One opened `WorkerService.Calls` stream, on which unary calls travel as messages. */
export interface WorkerCallChannel {
  /**
   * Sends one call and resolves with the worker's answer. Rejects with the signal's reason when it
   * aborts (a cancel frame is sent), or with an error whose `cause` is the stream's error when the
   * stream fails or ends.
   */
  execute(call: ChannelCallInit, signal: AbortSignal): Promise<ExecuteToolResponse>;
  /** False once the stream failed or ended, or `close()` was called. */
  readonly usable: boolean;
  /** Ends the request side; the worker answers the calls in flight, then ends the stream. */
  close(): void;
}

/** A client of one worker's `WorkerService` on one HTTP/2 connection. */
export interface WorkerClient {
  /** The bearer token calls present. */
  readonly token: string;
  /** `{ authorization: 'Bearer <token>' }`, the headers every authenticated call needs. */
  readonly authorization: Readonly<Record<string, string>>;
  /** Calls carry no headers unless given. */
  readonly client: Client<typeof WorkerService>;
  /** Opens a call channel on `client`, sending `headers` (default: `authorization`). */
  openCallChannel(headers?: Record<string, string>): WorkerCallChannel;
  /** Closes the channels and the connection. Idempotent. */
  close(): void;
}

export interface WorkerClientOptions {
  /** "http://127.0.0.1:PORT", or "https://host:port" with `tls`. */
  baseUrl: string;
  token: string;
  /** CA, client certificate and key, server name, for an https: baseUrl. */
  tls?: GrpcHttp2TransportOptions['tls'];
}

/** A client of a worker server that is already running (started by the test, or a service). */
export function connectWorkerClient(options: WorkerClientOptions): WorkerClient {
  const transport = createGrpcHttp2Transport({ baseUrl: options.baseUrl, ...(options.tls !== undefined ? { tls: options.tls } : {}) });
  const client = createClient(WorkerService, transport);
  const authorization = Object.freeze({ authorization: `Bearer ${options.token}` });
  const channels = new Set<CallChannel>();
  return {
    token: options.token,
    authorization,
    client,
    openCallChannel(headers = authorization) {
      const channel = new CallChannel(client, { ...headers });
      channels.add(channel);
      return channel;
    },
    close() {
      for (const channel of channels) channel.close();
      channels.clear();
      transport.destroy();
    },
  };
}

export interface WorkerHarness extends Omit<WorkerClient, 'close'> {
  readonly workerId: string;
  readonly pid: number;
  /** The port the worker announced; it listens on 127.0.0.1. */
  readonly port: number;
  /** The `info` object of the worker's readiness line. */
  readonly info: Record<string, unknown>;
  /** The worker's most recent log records (stdout, stderr, structured logs), oldest first. */
  readonly logs: readonly WorkerLogRecord[];
  /** Resolves once the process has exited. */
  readonly exited: Promise<WorkerExitInfo>;
  readonly hasExited: boolean;
  /**
   * Closes the channels and the connection, then stops the process group: SIGTERM, and SIGKILL
   * after `graceMs` (default 0: at once). Idempotent.
   */
  stop(graceMs?: number): Promise<WorkerExitInfo>;
}

/** Starts a worker process and resolves once it announced readiness (rejects with `startup_failed` otherwise). */
export async function startWorkerHarness(options: WorkerHarnessOptions): Promise<WorkerHarness> {
  const workerId = options.workerId ?? 'harness';
  const keepLogs = options.keepLogs ?? 500;
  const token = randomBytes(24).toString('hex');
  const logs: WorkerLogRecord[] = [];
  const { process: worker, ready } = await WorkerProcess.start({
    workerId,
    spec: options.spec,
    config: {
      worker_id: workerId,
      token,
      host_address: null,
      heartbeat: { enabled: false },
      log_level: options.logLevel ?? 'warning',
      max_message_bytes: options.maxMessageBytes ?? defaultMaxMessageBytes,
      ...options.config,
    },
    startupTimeoutMs: options.startupTimeoutMs ?? 30_000,
    signal: new AbortController().signal,
    onLog(record) {
      logs.push(record);
      if (logs.length > keepLogs) logs.shift();
    },
  });
  const connection = connectWorkerClient({ baseUrl: `http://127.0.0.1:${ready.port}`, token });
  return {
    workerId,
    pid: worker.pid,
    port: ready.port,
    token,
    info: ready.info,
    authorization: connection.authorization,
    client: connection.client,
    openCallChannel: connection.openCallChannel,
    logs,
    exited: worker.exited,
    get hasExited() {
      return worker.hasExited;
    },
    async stop(graceMs = 0) {
      connection.close();
      return worker.stop(graceMs);
    },
  };
}
