/**
 * `remotePythonAdapter()`: the pool's workers are Python worker servers on other hosts
 * (`python -m snakepit_bridge.serve`), listed or found by DNS, shared by every Node process pointed
 * at them. Each endpoint is one seat of the pool (adapter spec v2), with the capacity the worker
 * reports; endpoints that appear or disappear through discovery join or leave the pool. The sdk
 * does the connecting (`connectGrpcWorker`: TLS, token, handshake) and the pool does the rest
 * (scheduling, rendezvous placement of sessions, refusals, heartbeats, reconnecting with backoff).
 * Host tools and session state reach these workers on their call channels: nothing listens on Node.
 */
import type { AdapterV2, AdapterWorkerV1, RemoteTlsOptions, SeatStartContext, SeatWatchContext } from '@snakepit/sdk/adapter';
import { connectGrpcWorker, errors, parseEndpoint, resolveMessageLimits } from '@snakepit/sdk/adapter';
import { resolveDnsDiscovery, watchDnsEndpoints, type DnsDiscoveryOptions } from './endpoint-discovery.js';
import { isLoopback, validateRemoteOptions } from './remote-options.js';

export interface RemotePythonAdapterOptions {
  /** The worker servers, "host:port" ("[v6]:port"). One of `endpoints` and `discover` is required. */
  endpoints?: string[];
  /** Find the worker servers by DNS, re-resolved on an interval (a Kubernetes headless Service). */
  discover?: DnsDiscoveryOptions;
  /**
   * TLS: the CA the servers' certificates chain to, a client certificate and key for mutual TLS,
   * and the name the certificates must carry (default: the endpoint's host; with `discover`, the
   * DNS name without its leading `_service._proto.` labels). Required unless `plaintext`.
   */
  tls?: RemoteTlsOptions;
  /** No TLS, for worker servers on loopback during development (servers refuse it beyond loopback). Default false. */
  plaintext?: boolean;
  /** The token the servers require (their `--token-file` or `SNAKEPIT_TOKEN`). Required. */
  token: string;
  /** How long connecting (TCP and the TLS handshake) may take. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** How long the first Ping (token check, worker info) may take once connected. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** Largest message either side sends or accepts; match the servers' `--max-message-bytes`. Default 256 MiB. */
  maxMessageBytes?: number;
  /** Unary calls up to this many request bytes travel on the call channel. Default 64 KiB. */
  channelMaxRequestBytes?: number;
}

export function remotePythonAdapter(options: RemotePythonAdapterOptions): AdapterV2 {
  const settings = validateRemoteOptions(options);
  const discovery = options.discover === undefined ? undefined : resolveDnsDiscovery(options.discover);
  const { maxMessageBytes, channelMaxRequestBytes } = resolveMessageLimits(options);
  return {
    specificationVersion: 'v2',
    name: 'python-remote',
    usesHostBridge: false,

    doWatchSeats(context: SeatWatchContext): void {
      if (discovery === undefined) {
        context.update(settings.endpoints);
        return;
      }
      const watch = watchDnsEndpoints(
        discovery,
        (endpoints) => {
          context.log('info', 'worker endpoints resolved', { dns: discovery.dns, endpoints });
          context.update(endpoints);
        },
        (error) => context.log('warn', error.message, { dns: discovery.dns }),
      );
      context.signal.addEventListener('abort', () => watch.stop(), { once: true });
    },

    doStartWorker(context: SeatStartContext): Promise<AdapterWorkerV1> {
      // Listed endpoints were checked up front; discovered ones are checked as they come.
      const host = parseEndpoint(context.seat)?.host;
      if (settings.tls === 'plaintext' && (host === undefined || !isLoopback(host))) {
        return Promise.reject(
          errors.startupFailed(`worker ${context.workerId}: endpoint ${context.seat} is not on loopback, and plaintext is for loopback servers only`, {
            details: { workerId: context.workerId, endpoint: context.seat },
          }),
        );
      }
      return connectGrpcWorker({
        workerId: context.workerId,
        endpoint: context.seat,
        token: settings.token,
        tls: settings.tls,
        connectTimeoutMs: settings.connectTimeoutMs,
        handshakeTimeoutMs: settings.handshakeTimeoutMs,
        maxMessageBytes,
        channelMaxRequestBytes,
        hostRequests: context.hostRequests,
        signal: context.signal,
      });
    },
  };
}
