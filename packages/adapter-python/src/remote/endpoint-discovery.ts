/**
 * DNS discovery of a remote worker fleet (the `discover` option of remotePythonAdapter): a DNS name
 * is resolved now and every `intervalMs`, and each change of the set of "host:port" endpoints it
 * gives is reported, so that workers join and leave a pool as they come and go behind the name
 * (a Kubernetes headless Service, a Consul service, a hand-kept zone) without restarting it.
 *
 * A name that starts with "_" (`_grpc._tcp.fleet.example.com`) is an SRV name: each record names a
 * target host and a port, and every A/AAAA address of the target is an endpoint on that port
 * (priority and weight are ignored: every worker is a seat). Any other name gives its A and AAAA
 * addresses, all on the configured `port`. The name is queried as given, without the system's
 * search domains, so it must be fully qualified (in Kubernetes: `...svc.cluster.local`).
 *
 * Only answers change the set: a name that does not exist or has no records is an empty fleet, and
 * that is reported; a resolution that gets no answer (a timeout, a refusal, a server failure) keeps
 * the last set and reports only the error, so that a DNS outage never empties a working pool.
 */
import { Resolver } from 'node:dns/promises';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { errors } from '@snakepit/sdk/adapter';

export interface DnsDiscoveryOptions {
  /** An SRV name (`_service._proto.name`, whose records give the ports) or a host name (A/AAAA records, needs `port`). */
  dns: string;
  /** The workers' port, for a host name; must be left out for an SRV name. */
  port?: number;
  /** Time between the starts of two resolutions. Default 5000, at least 100. */
  intervalMs?: number;
  /** DNS servers to ask instead of the system's: "ip", "ip:port" or "[ipv6]:port". */
  servers?: string[];
}

interface ResolvedCommon {
  readonly dns: string;
  readonly intervalMs: number;
  /** The DNS servers to ask; undefined: the system's. */
  readonly servers: readonly string[] | undefined;
}

/** DnsDiscoveryOptions validated by resolveDnsDiscovery, with the defaults applied. */
export type ResolvedDnsDiscovery =
  | (ResolvedCommon & { readonly records: 'srv' })
  | (ResolvedCommon & { readonly records: 'address'; readonly port: number });

export interface EndpointWatch {
  /** Stops re-resolving. */
  stop(): void;
}

const optionKeys = ['dns', 'port', 'intervalMs', 'servers'];
const defaultIntervalMs = 5000;
const minIntervalMs = 100;
/** setTimeout's longest delay. */
const maxIntervalMs = 2 ** 31 - 1;
/** Each query's timeout is min(intervalMs, this), with this many tries, so a dead server is noticed within a few seconds. */
const maxQueryTimeoutMs = 2000;
const queryTries = 2;
/** A DNS label: letters, digits, "-" inside, and "_" (SRV names and some service names use it). */
const labelPattern = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

function isDnsName(name: string): boolean {
  const relative = name.endsWith('.') ? name.slice(0, -1) : name;
  return relative.length > 0 && relative.length <= 253 && relative.split('.').every((label) => labelPattern.test(label));
}

/** The forms Resolver.setServers takes: "ip", "ip:port", "[ipv6]:port". */
function isDnsServer(server: string): boolean {
  if (isIP(server) !== 0) return true;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(server);
  if (bracketed !== null) return isIPv6(bracketed[1]!) && isPort(Number(bracketed[2]));
  const withPort = /^([^:]+):(\d+)$/.exec(server);
  return withPort !== null && isIPv4(withPort[1]!) && isPort(Number(withPort[2]));
}

/** Validates the `discover` option (every problem throws `invalid_parameter` naming the key) and applies the defaults. */
export function resolveDnsDiscovery(options: DnsDiscoveryOptions): ResolvedDnsDiscovery {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw errors.invalidParameter(
      'discover',
      'must be an object such as { dns: "_grpc._tcp.fleet.example.com" } or { dns: "fleet.example.com", port: 50051 }',
    );
  }
  for (const key of Object.keys(options)) {
    if (!optionKeys.includes(key)) throw errors.invalidParameter(`discover.${key}`, `is not a known discover option (${optionKeys.join(', ')})`);
  }
  const { dns, port, intervalMs = defaultIntervalMs, servers } = options;
  if (typeof dns === 'string' && isIP(dns) !== 0) {
    throw errors.invalidParameter('discover.dns', 'is an IP address, not a DNS name; list fixed addresses in endpoints instead');
  }
  if (typeof dns !== 'string' || !isDnsName(dns)) {
    throw errors.invalidParameter(
      'discover.dns',
      'must be a DNS name: an SRV name such as "_grpc._tcp.fleet.example.com" or a host name such as "fleet.example.com"',
    );
  }
  if (typeof intervalMs !== 'number' || !(intervalMs >= minIntervalMs && intervalMs <= maxIntervalMs)) {
    throw errors.invalidParameter('discover.intervalMs', `must be a number of milliseconds from ${minIntervalMs} to ${maxIntervalMs}`);
  }
  if (servers !== undefined) {
    if (!Array.isArray(servers) || servers.length === 0) {
      throw errors.invalidParameter('discover.servers', 'must be a non-empty array of DNS server addresses; leave it out to ask the system\'s');
    }
    servers.forEach((server: unknown, index) => {
      if (typeof server !== 'string' || !isDnsServer(server)) {
        throw errors.invalidParameter(`discover.servers[${index}]`, 'must be a DNS server address: "ip", "ip:port" or "[ipv6]:port"');
      }
    });
  }
  const common: ResolvedCommon = { dns, intervalMs, servers: servers === undefined ? undefined : Object.freeze([...servers]) };
  if (dns.startsWith('_')) {
    if (port !== undefined) throw errors.invalidParameter('discover.port', `must be left out for the SRV name "${dns}": its records give the ports`);
    return { ...common, records: 'srv' };
  }
  if (!isPort(port)) {
    throw errors.invalidParameter(
      'discover.port',
      port === undefined
        ? `is required for the host name "${dns}", whose A/AAAA records give no port (or discover an SRV name, "_service._proto.name")`
        : 'must be an integer from 1 to 65535',
    );
  }
  return { ...common, records: 'address', port };
}

/** The answer "no such name" or "no records of this type": no endpoints, not a failure. */
async function recordsOrNone<T>(query: Promise<T[]>): Promise<T[]> {
  try {
    return await query;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw error;
  }
}

async function addressesOf(resolver: Resolver, name: string): Promise<string[]> {
  const [v4, v6] = await Promise.all([recordsOrNone(resolver.resolve4(name)), recordsOrNone(resolver.resolve6(name))]);
  return [...v4, ...v6];
}

function endpoint(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

async function resolveEndpoints(resolver: Resolver, discovery: ResolvedDnsDiscovery): Promise<string[]> {
  if (discovery.records === 'address') {
    const { port } = discovery;
    return (await addressesOf(resolver, discovery.dns)).map((address) => endpoint(address, port));
  }
  // A target of "." (which arrives as "") says the service is not offered there (RFC 2782).
  const records = (await recordsOrNone(resolver.resolveSrv(discovery.dns))).filter((record) => record.name !== '');
  const targets = [...new Set(records.map((record) => record.name))];
  const addresses = new Map(await Promise.all(targets.map(async (target) => [target, await addressesOf(resolver, target)] as const)));
  return records.flatMap((record) => addresses.get(record.name)!.map((address) => endpoint(address, record.port)));
}

function failure(discovery: ResolvedDnsDiscovery, error: unknown): Error {
  const servers = discovery.servers === undefined ? 'the system\'s DNS servers' : `DNS servers ${discovery.servers.join(', ')}`;
  const reason = error instanceof Error ? error.message : String(error);
  return new Error(
    `DNS discovery of ${discovery.dns} (${discovery.records === 'srv' ? 'SRV' : 'A/AAAA'} records, asking ${servers}) failed: ${reason}; ` +
      'the last endpoints are kept',
    { cause: error },
  );
}

/**
 * Resolves `options.dns` now and every intervalMs; calls onEndpoints(sorted unique "host:port" list)
 * whenever the set differs from the last one reported (the first successful resolution is always
 * reported, even if empty). A failed resolution keeps the last set and calls onError(error) (never
 * throws, never reports an empty set because of a failure).
 *
 * Resolutions never overlap: one that takes longer than intervalMs delays the next. The timer is
 * unref'd, so a watch does not keep the process alive (a query under way does, for at most its
 * timeout). Exceptions thrown by the callbacks are not caught.
 */
export function watchDnsEndpoints(
  options: ResolvedDnsDiscovery,
  onEndpoints: (endpoints: string[]) => void,
  onError: (error: Error) => void,
): EndpointWatch {
  const resolver = new Resolver({ timeout: Math.min(options.intervalMs, maxQueryTimeoutMs), tries: queryTries });
  if (options.servers !== undefined) resolver.setServers(options.servers);
  let reported: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function resolveOnce(): Promise<void> {
    const startedAt = Date.now();
    let outcome: { endpoints: string[] } | { error: Error };
    try {
      outcome = { endpoints: [...new Set(await resolveEndpoints(resolver, options))].sort() };
    } catch (error) {
      outcome = { error: failure(options, error) };
    }
    if (stopped) return;
    timer = setTimeout(() => void resolveOnce(), Math.max(0, startedAt + options.intervalMs - Date.now()));
    timer.unref();
    if ('error' in outcome) {
      onError(outcome.error);
      return;
    }
    const key = outcome.endpoints.join(' ');
    if (key === reported) return;
    reported = key;
    onEndpoints(outcome.endpoints);
  }

  void resolveOnce();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      // Ends a resolution under way at once (its queries fail with ECANCELLED, which is not reported).
      resolver.cancel();
    },
  };
}
