import type { LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why `raw` cannot be a partner's webhook endpoint, or null when it can. https only; plain http only for the
 * local machine outside production (tests and local development). In production the URL may not name the
 * local machine or a private, loopback or link-local address literal, so a partner cannot aim our POSTs at
 * our own network. Host names are not resolved here: that would be checked at send time.
 */
export function webhookUrlProblem(raw: string, production: boolean): string | null {
  if (raw.length > 2048) return 'must be at most 2048 characters';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute https:// URL';
  }
  if (url.username || url.password) return 'must not carry a user name or password';
  const host = url.hostname.toLowerCase();
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
  const [a, b] = address.split('.').map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224
  );
}

function isPrivateV6(address: string): boolean {
  if (address === '::' || address === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return isPrivateV4(mapped[1]);
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address);
  if (mappedHex) {
    const high = parseInt(mappedHex[1], 16);
    const low = parseInt(mappedHex[2], 16);
    return isPrivateV4(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  const first = parseInt(address.split(':')[0] || '0', 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

export type HostLookup = (host: string) => Promise<{ address: string }[]>;

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
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const inside = found.find((a) => isPrivateAddress(a.address));
        const addresses: LookupAddress[] = found
          .map((a) => ({ address: a.address, family: isIP(a.address) }))
          .filter((a) => !options.family || a.family === options.family);
        if (inside || addresses.length === 0) {
          const error: NodeJS.ErrnoException = new Error(
            inside
              ? `${hostname} resolves to the private address ${inside.address}`
              : `${hostname} has no usable address`,
          );
          error.code = inside ? 'EPRIVATEADDRESS' : 'ENOTFOUND';
          callback(error, '', 0);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
