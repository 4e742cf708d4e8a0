import { Resolver } from 'node:dns/promises';
import type { HostLookup } from './webhook-url';

/** Names every machine answers for itself (RFC 6761), without asking DNS. */
const LOOPBACK = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/**
 * Resolves a partner's host name by DNS queries of our own (c-ares, `dns.Resolver`), never by getaddrinfo:
 * getaddrinfo runs on libuv's thread pool (four threads for the whole process), so a partner whose name server
 * never answers would hold every thread for the resolver's timeouts, and every other partner's deliveries, with
 * the file and crypto work of the worker, would queue behind it. Each lookup has a resolver of its own, cancelled
 * once `timeoutMs` has passed. /etc/hosts is not read: `localhost` and its subdomains answer the loopback
 * addresses. `servers` replaces the system's name servers (tests).
 */
export function dnsResolver(timeoutMs: number, servers?: string[]): HostLookup {
  return async (host) => {
    const name = host.toLowerCase().replace(/\.$/, '');
    if (name === 'localhost' || name.endsWith('.localhost')) return LOOPBACK;
    const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
    if (servers) resolver.setServers(servers);
    const timer = setTimeout(() => resolver.cancel(), timeoutMs);
    try {
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
      const found = [
        ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
        ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
      ];
      if (found.length === 0)
        throw v4.status === 'rejected' ? v4.reason : new Error(`${name} has no address`);
      return found;
    } finally {
      clearTimeout(timer);
    }
  };
}
