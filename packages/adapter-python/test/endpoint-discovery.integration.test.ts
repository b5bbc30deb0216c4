/**
 * DNS discovery of a remote worker fleet against a real DNS server (dnsmasq on loopback): the
 * endpoints of A, AAAA and SRV records, their changes as records come and go, a server that
 * refuses or does not answer (an error, the last set kept), stop(), and the validation of the
 * `discover` option.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SnakepitError } from '@snakepit/sdk';
import {
  resolveDnsDiscovery,
  watchDnsEndpoints,
  type DnsDiscoveryOptions,
  type EndpointWatch,
} from '../src/remote/endpoint-discovery.js';
import { startDnsmasq, type Dnsmasq, type HostRecords, type SrvRecord } from './support/dnsmasq.js';

const intervalMs = 200;
/** Generous: a change must show up within a few intervals even on a loaded machine. */
const changeTimeoutMs = 10_000;

const servers: Dnsmasq[] = [];
const watches: EndpointWatch[] = [];

afterEach(async () => {
  for (const watch of watches.splice(0)) watch.stop();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function dnsmasq(hosts: HostRecords, srv?: SrvRecord[]): Promise<Dnsmasq> {
  const server = await startDnsmasq({ hosts, srv });
  servers.push(server);
  return server;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A watch whose callbacks are recorded, in order. */
function watch(options: Omit<DnsDiscoveryOptions, 'intervalMs'>, server: Dnsmasq) {
  const reports: string[][] = [];
  const failures: Error[] = [];
  const events: string[] = [];
  const handle = watchDnsEndpoints(
    resolveDnsDiscovery({ intervalMs, servers: [server.server], ...options }),
    (endpoints) => {
      reports.push(endpoints);
      events.push('endpoints');
    },
    (error) => {
      failures.push(error);
      events.push('error');
    },
  );
  watches.push(handle);

  async function until(what: string, done: () => boolean): Promise<void> {
    const deadline = Date.now() + changeTimeoutMs;
    while (!done()) {
      if (Date.now() > deadline) {
        throw new Error(`${what} within ${changeTimeoutMs} ms; reports: ${JSON.stringify(reports)}; errors: ${failures.map((error) => error.message).join(' | ')}`);
      }
      await sleep(20);
    }
  }

  return {
    handle,
    reports,
    failures,
    events,
    /** Waits for the next report after the `count` already seen and returns it. */
    async report(count: number): Promise<string[]> {
      await until(`no report number ${count + 1}`, () => reports.length > count);
      return reports[count]!;
    },
    async failure(count: number): Promise<Error> {
      await until(`no error number ${count + 1}`, () => failures.length > count);
      return failures[count]!;
    },
  };
}

describe('watchDnsEndpoints with A/AAAA records', () => {
  it('reports the A records of a name as endpoints on the port, sorted', async () => {
    const server = await dnsmasq({ 'fleet.test': ['127.0.0.12', '127.0.0.11'], 'other.test': ['127.0.0.99'] });
    const fleet = watch({ dns: 'fleet.test', port: 50051 }, server);
    expect(await fleet.report(0)).toEqual(['127.0.0.11:50051', '127.0.0.12:50051']);
    expect(fleet.failures).toEqual([]);
  });

  it('reports each change of the records, and nothing while they stay the same', async () => {
    const server = await dnsmasq({ 'fleet.test': ['127.0.0.11', '127.0.0.12'] });
    const fleet = watch({ dns: 'fleet.test', port: 7000 }, server);
    expect(await fleet.report(0)).toEqual(['127.0.0.11:7000', '127.0.0.12:7000']);

    await sleep(intervalMs * 4);
    expect(fleet.reports).toHaveLength(1);

    await server.setHosts({ 'fleet.test': ['127.0.0.11', '127.0.0.12', '127.0.0.13'] });
    expect(await fleet.report(1)).toEqual(['127.0.0.11:7000', '127.0.0.12:7000', '127.0.0.13:7000']);

    await server.setHosts({ 'fleet.test': ['127.0.0.12', '127.0.0.13'] });
    expect(await fleet.report(2)).toEqual(['127.0.0.12:7000', '127.0.0.13:7000']);

    await server.setHosts({});
    expect(await fleet.report(3)).toEqual([]);
    expect(fleet.failures).toEqual([]);
  });

  it('formats AAAA records as [address]:port, with or without A records beside them', async () => {
    const server = await dnsmasq({ 'dual.test': ['127.0.0.1', '::1', 'fd00::5'], 'six.test': ['fd00::6'] });
    const dual = watch({ dns: 'dual.test', port: 7000 }, server);
    const six = watch({ dns: 'six.test', port: 7000 }, server);
    expect(await dual.report(0)).toEqual(['127.0.0.1:7000', '[::1]:7000', '[fd00::5]:7000']);
    expect(await six.report(0)).toEqual(['[fd00::6]:7000']);
    expect([...dual.failures, ...six.failures]).toEqual([]);
  });

  it('reports an empty set, not an error, for a name that does not exist', async () => {
    const server = await dnsmasq({ 'fleet.test': ['127.0.0.11'] });
    const missing = watch({ dns: 'missing.test', port: 7000 }, server);
    expect(await missing.report(0)).toEqual([]);
    await server.setHosts({ 'missing.test': ['127.0.0.21'] });
    expect(await missing.report(1)).toEqual(['127.0.0.21:7000']);
    expect(missing.failures).toEqual([]);
  });
});

describe('watchDnsEndpoints with SRV records', () => {
  it('reports every address of every target on its record\'s port, skipping targets without addresses', async () => {
    const name = '_grpc._tcp.fleet.test';
    const server = await dnsmasq({ 'w1.fleet.test': ['127.0.0.21', '::1'], 'w2.fleet.test': ['127.0.0.22'] }, [
      { name, target: 'w1.fleet.test', port: 7001 },
      { name, target: 'w1.fleet.test', port: 7003 },
      { name, target: 'w2.fleet.test', port: 7002 },
      { name, target: 'w3.fleet.test', port: 7004 },
    ]);
    const fleet = watch({ dns: name }, server);
    expect(await fleet.report(0)).toEqual([
      '127.0.0.21:7001',
      '127.0.0.21:7003',
      '127.0.0.22:7002',
      '[::1]:7001',
      '[::1]:7003',
    ]);

    // A target's addresses are resolved again each time: the one that had none joins.
    await server.setHosts({ 'w1.fleet.test': ['127.0.0.21'], 'w2.fleet.test': ['127.0.0.22'], 'w3.fleet.test': ['127.0.0.23'] });
    expect(await fleet.report(1)).toEqual(['127.0.0.21:7001', '127.0.0.21:7003', '127.0.0.22:7002', '127.0.0.23:7004']);
    expect(fleet.failures).toEqual([]);
  });

  it('reports an empty set for an SRV name without records', async () => {
    const server = await dnsmasq({ 'w1.fleet.test': ['127.0.0.21'] }, [{ name: '_grpc._tcp.fleet.test', target: 'w1.fleet.test', port: 7001 }]);
    const other = watch({ dns: '_other._tcp.fleet.test' }, server);
    expect(await other.report(0)).toEqual([]);
    expect(other.failures).toEqual([]);
  });
});

describe('watchDnsEndpoints when DNS fails', () => {
  it('reports an error and keeps the last set when the server is gone', async () => {
    const server = await dnsmasq({ 'fleet.test': ['127.0.0.11'] });
    const fleet = watch({ dns: 'fleet.test', port: 7000 }, server);
    expect(await fleet.report(0)).toEqual(['127.0.0.11:7000']);

    await server.stop();
    const error = await fleet.failure(0);
    expect(error.message).toContain('fleet.test');
    expect(error.message).toContain(server.server);
    expect(error.message).toContain('ECONNREFUSED');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');

    // It goes on trying (one error per resolution) and never reports the outage as an empty fleet.
    await fleet.failure(2);
    expect(fleet.reports).toHaveLength(1);
  });

  it('reports a timeout within the query timeout when the server does not answer, and resumes after', async () => {
    const server = await dnsmasq({ 'fleet.test': ['127.0.0.11'] });
    const fleet = watch({ dns: 'fleet.test', port: 7000 }, server);
    expect(await fleet.report(0)).toEqual(['127.0.0.11:7000']);

    server.pause();
    const pausedAt = Date.now();
    const error = await fleet.failure(0);
    // Queries time out after min(intervalMs, 2000) ms, tried twice: well under the default 5 s x 4.
    expect(Date.now() - pausedAt).toBeLessThan(intervalMs * 2 * 3 + 1000);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ETIMEOUT');
    expect(fleet.reports).toHaveLength(1);

    server.resume();
    await server.setHosts({ 'fleet.test': ['127.0.0.12'] });
    expect(await fleet.report(1)).toEqual(['127.0.0.12:7000']);
  });
});

describe('EndpointWatch.stop', () => {
  it('fires no callback after stop, and may be called twice', async () => {
    const server = await dnsmasq({ 'fleet.test': ['127.0.0.11'] });
    const fleet = watch({ dns: 'fleet.test', port: 7000 }, server);
    await fleet.report(0);
    fleet.handle.stop();
    fleet.handle.stop();
    await server.setHosts({ 'fleet.test': ['127.0.0.12'] });
    await server.stop();
    await sleep(intervalMs * 5);
    expect(fleet.events).toEqual(['endpoints']);
  });

  it('ends a resolution under way without reporting it', async () => {
    const server = await dnsmasq({ 'fleet.test': ['127.0.0.11'] });
    server.pause();
    const fleet = watch({ dns: 'fleet.test', port: 7000 }, server);
    await sleep(50);
    fleet.handle.stop();
    await sleep(intervalMs * 5);
    expect(fleet.events).toEqual([]);
  });

  it('does not keep the process alive between resolutions', async () => {
    const server = await dnsmasq({ 'fleet.test': ['127.0.0.11'] });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      const fleet = watchDnsEndpoints(
        resolveDnsDiscovery({ dns: 'fleet.test', port: 7000, intervalMs: 60_000, servers: [server.server] }),
        () => {},
        () => {},
      );
      watches.push(fleet);
      await vi.waitFor(() => expect(timers.mock.calls.some(([, delay]) => delay !== undefined && delay > 50_000)).toBe(true));
      const next = timers.mock.results.filter((_, index) => (timers.mock.calls[index]![1] ?? 0) > 50_000);
      expect(next.map((result) => (result.value as NodeJS.Timeout).hasRef())).toEqual([false]);
    } finally {
      timers.mockRestore();
    }
  });
});

function refusal(options: unknown): SnakepitError {
  try {
    resolveDnsDiscovery(options as DnsDiscoveryOptions);
  } catch (error) {
    if (SnakepitError.hasCode(error, 'invalid_parameter')) return error;
    throw error;
  }
  throw new Error('expected resolveDnsDiscovery to throw');
}

describe('resolveDnsDiscovery', () => {
  it('applies the defaults', () => {
    expect(resolveDnsDiscovery({ dns: 'fleet.example.com', port: 50051 })).toEqual({
      records: 'address',
      dns: 'fleet.example.com',
      port: 50051,
      intervalMs: 5000,
      servers: undefined,
    });
    expect(resolveDnsDiscovery({ dns: '_grpc._tcp.fleet.ns.svc.cluster.local.', intervalMs: 100, servers: ['10.0.0.10'] })).toEqual({
      records: 'srv',
      dns: '_grpc._tcp.fleet.ns.svc.cluster.local.',
      intervalMs: 100,
      servers: ['10.0.0.10'],
    });
  });

  it('accepts every server form that Resolver.setServers takes', () => {
    const servers = ['10.0.0.10', '10.0.0.10:5353', 'fd00::10', '[fd00::10]:5353'];
    const watchOfServers = watchDnsEndpoints(
      resolveDnsDiscovery({ dns: 'fleet.example.com', port: 7000, servers }),
      () => {},
      () => {},
    );
    watchOfServers.stop();
  });

  it.each([
    [undefined, 'discover', 'must be an object'],
    ['fleet.test', 'discover', 'must be an object'],
    [{ dns: 'fleet.test', port: 7000, interval: 1000 }, 'discover.interval', 'dns, port, intervalMs, servers'],
    [{ port: 7000 }, 'discover.dns', 'must be a DNS name'],
    [{ dns: '', port: 7000 }, 'discover.dns', 'must be a DNS name'],
    [{ dns: 'fleet..test', port: 7000 }, 'discover.dns', 'must be a DNS name'],
    [{ dns: 'fleet test', port: 7000 }, 'discover.dns', 'must be a DNS name'],
    [{ dns: `${'a'.repeat(64)}.test`, port: 7000 }, 'discover.dns', 'must be a DNS name'],
    [{ dns: '10.0.0.1', port: 7000 }, 'discover.dns', 'list fixed addresses in endpoints'],
    [{ dns: 'fleet.test' }, 'discover.port', 'is required for the host name "fleet.test"'],
    [{ dns: 'fleet.test', port: 0 }, 'discover.port', 'from 1 to 65535'],
    [{ dns: 'fleet.test', port: 70000 }, 'discover.port', 'from 1 to 65535'],
    [{ dns: 'fleet.test', port: '7000' }, 'discover.port', 'from 1 to 65535'],
    [{ dns: '_grpc._tcp.fleet.test', port: 7000 }, 'discover.port', 'its records give the ports'],
    [{ dns: 'fleet.test', port: 7000, intervalMs: 99 }, 'discover.intervalMs', 'from 100'],
    [{ dns: 'fleet.test', port: 7000, intervalMs: Number.NaN }, 'discover.intervalMs', 'from 100'],
    [{ dns: 'fleet.test', port: 7000, intervalMs: 2 ** 31 }, 'discover.intervalMs', 'from 100'],
    [{ dns: 'fleet.test', port: 7000, servers: '10.0.0.10' }, 'discover.servers', 'non-empty array'],
    [{ dns: 'fleet.test', port: 7000, servers: [] }, 'discover.servers', 'non-empty array'],
    [{ dns: 'fleet.test', port: 7000, servers: ['10.0.0.10', 'dns.example.com'] }, 'discover.servers[1]', '"[ipv6]:port"'],
    [{ dns: 'fleet.test', port: 7000, servers: ['10.0.0.10:99999'] }, 'discover.servers[0]', '"ip:port"'],
    [{ dns: 'fleet.test', port: 7000, servers: ['fd00::10:53:x'] }, 'discover.servers[0]', '"ip"'],
  ])('refuses %o naming %s', (options, key, reason) => {
    const error = refusal(options);
    expect(error.details.key).toBe(key);
    expect(error.message).toContain(key);
    expect(error.message).toContain(reason);
  });
});
