import { Resolver } from 'node:dns/promises';
import type { HostLookup } from './webhook-url';

/** How long the other address family is waited for once one has answered. */
const OTHER_FAMILY_GRACE_MS = 250;

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
    const resolver = new Resolver({ timeout: timeoutMs, maxTimeout: timeoutMs, tries: 1 });
    if (servers) resolver.setServers(servers);
    const timer = setTimeout(() => resolver.cancel(), timeoutMs);
    let grace: NodeJS.Timeout | undefined;
    const found: { v4: string[]; v6: string[] } = { v4: [], v6: [] };
    const v4 = resolver.resolve4(name).then((addresses) => void (found.v4 = addresses));
    const v6 = resolver.resolve6(name).then((addresses) => void (found.v6 = addresses));
    try {
      try {
        await Promise.any([v4, v6]);
      } catch {
        // Neither family: the IPv4 question's reason (ENOTFOUND; ECANCELLED when the name server never answered).
        await v4;
      }
      // One family answered: the other gets a moment more, not the whole timeout (a name server that drops AAAA
      // questions would otherwise hold every delivery for it).
      await Promise.race([
        Promise.allSettled([v4, v6]),
        new Promise((resolve) => (grace = setTimeout(resolve, OTHER_FAMILY_GRACE_MS))),
      ]);
      const addresses = [
        ...found.v4.map((address) => ({ address, family: 4 })),
        ...found.v6.map((address) => ({ address, family: 6 })),
      ];
      if (addresses.length === 0) throw new Error(`${name} has no address`);
      return addresses;
    } finally {
      clearTimeout(timer);
      clearTimeout(grace);
      // A question still out is given up.
      resolver.cancel();
    }
  };
}
