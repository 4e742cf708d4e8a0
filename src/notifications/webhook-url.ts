import type { LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { ipv6Groups } from '../common/ipv6';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why `raw` cannot be a partner's webhook endpoint, or null when it can. https only; plain http only for the
 * local machine outside production (tests and local development). In production the URL may not name the
 * local machine or a private, loopback or link-local address literal, so a partner cannot aim our POSTs at
 * our own network. Host names are not resolved here: that would be checked at send time. A host and port the
 * operator trusts (WEBHOOK_TRUSTED_HOSTS: a receiver inside its own network) may be named over http and be private.
 */
export function webhookUrlProblem(
  raw: string,
  production: boolean,
  trusted: ReadonlySet<string> = new Set(),
): string | null {
  if (raw.length > 2048) return 'must be at most 2048 characters';
  // The URL is kept and shown as sent: what the parser would quietly strip or never send is refused instead.
  if (raw.trim() !== raw) return 'must not begin or end with white space';
  if (raw.includes('#')) return 'must not carry a fragment (#…): it is never sent';
  // The parser drops tabs and line breaks, encodes spaces and other characters, maps host names to punycode
  // (fullwidth letters to ASCII) and reads a backslash as a slash, so the URL shown would not be the one called
  // (`https://a.example\@b.example/` calls a.example).
  if (/[^\u0021-\u007e]|\\/.test(raw)) {
    return 'must be printable ASCII without white space or backslashes (percent-encode the rest, give host names in punycode): the parser would change them';
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute https:// URL';
  }
  if (url.username || url.password) return 'must not carry a user name or password';
  const host = url.hostname.toLowerCase();
  if ((url.protocol === 'http:' || url.protocol === 'https:') && trusted.has(url.host)) return null;
  if (url.protocol === 'http:') {
    if (production || !LOCAL_HOSTS.has(host)) return 'must use https://';
    return null;
  }
  if (url.protocol !== 'https:') return 'must be an absolute https:// URL';
  if (production && (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host))) {
    return 'must not point at a private, loopback or link-local address';
  }
  return null;
}

/** True for IP literals in loopback, private, link-local, unspecified or carrier-grade NAT ranges. */
export function isPrivateAddress(host: string): boolean {
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const version = isIP(literal);
  if (version === 4) return isPrivateV4(literal);
  if (version === 6) return isPrivateV6(literal.toLowerCase());
  return false;
}

function isPrivateV4(address: string): boolean {
  const [a, b, c] = address.split('.').map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) ||
    (a === 192 && b === 88 && c === 99) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113) ||
    a >= 224
  );
}

const v4Of = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;

/**
 * Only global unicast passes. Addresses that carry an IPv4 address (mapped, translated, compatible, NAT64,
 * 6to4) are judged by that address; Teredo, documentation, discard and site-local ranges never pass.
 */
function isPrivateV6(address: string): boolean {
  const g = ipv6Groups(address);
  if (!g) return true;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8) || (zeros(0, 7) && g[7] === 1)) return true;
  if (zeros(0, 5) && g[5] === 0xffff) return isPrivateV4(v4Of(g[6], g[7]));
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return isPrivateV4(v4Of(g[6], g[7]));
  if (zeros(0, 6)) return isPrivateV4(v4Of(g[6], g[7]));
  if (g[0] === 0x64 && g[1] === 0xff9b) return g[2] !== 0 || !zeros(3, 6) || isPrivateV4(v4Of(g[6], g[7]));
  if (g[0] === 0x2002) return isPrivateV4(v4Of(g[1], g[2]));
  if (g[0] === 0x2001 && (g[1] === 0 || g[1] === 0xdb8)) return true;
  if (g[0] === 0x100 && zeros(1, 4)) return true;
  return (
    (g[0] & 0xfe00) === 0xfc00 ||
    (g[0] & 0xffc0) === 0xfe80 ||
    (g[0] & 0xffc0) === 0xfec0 ||
    (g[0] & 0xff00) === 0xff00
  );
}

export type HostLookup = (host: string) => Promise<{ address: string }[]>;

/**
 * Whether the URL's host and port (as `URL.host` writes them: no port for the scheme's default) are ones the
 * operator trusts (WEBHOOK_TRUSTED_HOSTS): sends to them are not checked.
 */
export function isTrustedHost(raw: string, trusted: ReadonlySet<string>): boolean {
  return trusted.size > 0 && trusted.has(new URL(raw).host);
}

/**
 * Send-time half of the https rule: plain http to a host not (or no longer) trusted. A URL registered while its
 * host was trusted keeps its scheme; once the host leaves the list, signed events must not go out in clear.
 */
export function plainHttpProblem(raw: string): string | null {
  return new URL(raw).protocol === 'http:' ? 'plain http is sent only to WEBHOOK_TRUSTED_HOSTS' : null;
}

/**
 * Send-time half of the rule above, for address literals: host names are checked by publicOnlyLookup as the
 * connection resolves them. Answers why the destination is refused, or null.
 */
export function privateLiteralProblem(raw: string): string | null {
  const host = new URL(raw).hostname.toLowerCase();
  return isPrivateAddress(host) ? `${host} is a private address` : null;
}

/**
 * The send-time half for host names, as the `lookup` of the connection itself: every address the name resolves
 * to must be public, and the connection goes to the very addresses that were checked. A name that answers a
 * public address to a first lookup and a private one to a second (DNS rebinding) cannot slip between a check
 * and the connect, because there is only one lookup.
 */
export function publicOnlyLookup(resolve: HostLookup): LookupFunction {
  return connectLookup(
    resolve,
    (found) => found.some((a) => isPrivateAddress(a.address)),
    'is refused or does not resolve to a public address',
  );
}

/** The connection's `lookup` by `resolve`, whatever addresses it answers (a host that is not checked). */
export function anyAddressLookup(resolve: HostLookup): LookupFunction {
  return connectLookup(resolve, () => false, 'does not resolve');
}

function connectLookup(
  resolve: HostLookup,
  refused: (found: { address: string }[]) => boolean,
  refusal: string,
): LookupFunction {
  return (hostname, options, callback) => {
    // The answer goes to node's callback on a tick of its own, never from inside the promise chain.
    const answer = (...args: Parameters<typeof callback>) => process.nextTick(() => callback(...args));
    // One answer for every refusal: partners read it in their delivery log, and which names resolve inside our
    // network (or resolve at all) must not be learnt from it.
    const refuse = () => {
      const error: NodeJS.ErrnoException = new Error(`${hostname} ${refusal}`);
      error.code = 'EDESTINATIONREFUSED';
      answer(error, '', 0);
    };
    resolve(hostname).then((found) => {
      const addresses: LookupAddress[] = found
        .map((a) => ({ address: a.address, family: isIP(a.address) }))
        .filter((a) => !options.family || a.family === options.family);
      if (refused(found) || addresses.length === 0) return refuse();
      if (options.all) answer(null, addresses);
      else answer(null, addresses[0].address, addresses[0].family);
    }, refuse);
  };
}
