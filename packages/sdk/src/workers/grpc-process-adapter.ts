/**
 * Makes an adapter out of "a process that speaks the worker gRPC service": the adapter supplies
 * the command line, this supplies spawning, private configuration, readiness, the gRPC client and
 * stopping. The Python adapters are built on it; an adapter for another runtime is a few lines.
 */
import type { AdapterV1, AdapterWorkerV1, WorkerStartContext } from '../adapter/v1/adapter.js';
import { errors } from '../errors.js';
import { createGrpcHttp2Transport } from '../transport/index.js';
import { GrpcWorker } from './grpc-worker.js';
import { WorkerProcess, type WorkerProcessSpec } from './worker-process.js';

export interface GrpcProcessAdapterSettings {
  /** Short name for logs, e.g. "python". */
  name: string;
  /** The command line of one worker. */
  command(context: WorkerStartContext): WorkerProcessSpec | Promise<WorkerProcessSpec>;
  /** Added to the configuration line the worker reads from stdin. */
  config?(context: WorkerStartContext): Record<string, unknown>;
  /** Appended to the startup error when the command itself cannot be run. */
  missingRuntimeHint?: string;
  /** Largest message either side sends or accepts. Default 256 MiB. */
  maxMessageBytes?: number;
  /** Log level the worker starts with. Default "info". */
  logLevel?: string;
  /**
   * Unary calls whose encoded request (arguments, metadata, ids) is at most this many bytes travel
   * as messages on the worker's call channel (one open stream); larger ones get their own RPC, so
   * they never hold up small calls. 0 sends every call as its own RPC. At most half of
   * `maxMessageBytes`. Default 64 KiB.
   */
  channelMaxRequestBytes?: number;
}

export const defaultMaxMessageBytes = 256 * 1024 * 1024;
export const defaultChannelMaxRequestBytes = 64 * 1024;
/** Below this a worker could not even answer DescribeTools for a large adapter. */
const minMaxMessageBytes = 64 * 1024;

/** `maxMessageBytes` and `channelMaxRequestBytes` checked together, with their defaults. */
export function resolveMessageLimits(settings: { maxMessageBytes?: number | undefined; channelMaxRequestBytes?: number | undefined }): {
  maxMessageBytes: number;
  channelMaxRequestBytes: number;
} {
  const channelMaxRequestBytes = settings.channelMaxRequestBytes ?? defaultChannelMaxRequestBytes;
  const maxMessageBytes = settings.maxMessageBytes ?? defaultMaxMessageBytes;
  // A frame above the worker's limit would end the channel, failing every call on it; half leaves
  // room for the frame's own fields and for any trace headers.
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < minMaxMessageBytes) {
    throw errors.invalidParameter('maxMessageBytes', `must be a whole number of bytes, at least ${minMaxMessageBytes}`);
  }
  if (!Number.isSafeInteger(channelMaxRequestBytes) || channelMaxRequestBytes < 0 || channelMaxRequestBytes > maxMessageBytes / 2) {
    throw errors.invalidParameter(
      'channelMaxRequestBytes',
      `must be a whole number of bytes from 0 to half of maxMessageBytes (${maxMessageBytes / 2})`,
    );
  }
  return { maxMessageBytes, channelMaxRequestBytes };
}

export function createGrpcProcessAdapter(settings: GrpcProcessAdapterSettings): AdapterV1 {
  const { maxMessageBytes, channelMaxRequestBytes } = resolveMessageLimits(settings);
  return {
    specificationVersion: 'v1',
    name: settings.name,
    async doStartWorker(context: WorkerStartContext): Promise<AdapterWorkerV1> {
      const spec = await settings.command(context);
      const { process, ready } = await WorkerProcess.start({
        workerId: context.workerId,
        spec,
        startupTimeoutMs: context.startupTimeoutMs,
        signal: context.signal,
        onLog: context.onLog,
        ...(settings.missingRuntimeHint !== undefined ? { missingRuntimeHint: settings.missingRuntimeHint } : {}),
        config: {
          worker_id: context.workerId,
          token: context.token,
          host_address: context.hostAddress ?? null,
          heartbeat: {
            interval_ms: Math.ceil(context.heartbeat.intervalMs),
            timeout_ms: Math.ceil(context.heartbeat.timeoutMs),
            max_missed: context.heartbeat.maxMissed,
          },
          log_level: settings.logLevel ?? 'info',
          max_message_bytes: maxMessageBytes,
          ...settings.config?.(context),
        },
      });
      const capacity = Number(ready.info.capacity ?? 1);
      const transport = createGrpcHttp2Transport({ baseUrl: `http://127.0.0.1:${ready.port}`, readMaxBytes: maxMessageBytes });
      return new GrpcWorker(context.workerId, process, transport, context.token, capacity > 0 ? capacity : 1, ready.info, {
        channelMaxRequestBytes,
      });
    },
  };
}
