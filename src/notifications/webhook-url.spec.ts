import type { LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import {
  HostLookup,
  isPrivateAddress,
  isTrustedHost,
  plainHttpProblem,
  privateLiteralProblem,
  publicOnlyLookup,
  webhookUrlProblem,
} from './webhook-url';

const NOT_AS_WRITTEN =
  'must be printable ASCII without white space or backslashes (percent-encode the rest, give host names in punycode): the parser would change them';

describe(webhookUrlProblem.name, () => {
  it('takes http and private addresses for the hosts the operator trusts, and only those', () => {
    const trusted = new Set(['receiver.internal:8080', '10.0.0.5', '[fd00::5]:9000']);
    for (const url of [
      'http://receiver.internal:8080/h',
      'HTTP://Receiver.Internal:8080/h',
      'https://10.0.0.5/h',
      'https://10.0.0.5:443/h',
      'http://10.0.0.5/h',
      'http://[fd00::5]:9000/h',
    ]) {
      expect(webhookUrlProblem(url, true, trusted)).toBeNull();
    }
    expect(webhookUrlProblem('http://other.internal/h', true, trusted)).toBe('must use https://');
    // Another port of a trusted host is another service: the rules hold for it.
    expect(webhookUrlProblem('http://receiver.internal/h', true, trusted)).toBe('must use https://');
    expect(webhookUrlProblem('http://10.0.0.5:6379/', true, trusted)).toBe('must use https://');
    expect(webhookUrlProblem('https://[fd00::5]/h', true, trusted)).toBe(
      'must not point at a private, loopback or link-local address',
    );
    expect(webhookUrlProblem('https://10.0.0.6/h', true, trusted)).toBe(
      'must not point at a private, loopback or link-local address',
    );
    expect(webhookUrlProblem('ftp://receiver.internal/h', true, trusted)).toBe(
      'must be an absolute https:// URL',
    );
    expect(webhookUrlProblem('http://user@receiver.internal/h', true, trusted)).toBe(
      'must not carry a user name or password',
    );
    expect(isTrustedHost('http://Receiver.Internal:8080/h', trusted)).toBe(true);
    expect(isTrustedHost('https://receiver.internal.evil.example/h', trusted)).toBe(false);
    expect(isTrustedHost('http://receiver.internal:8081/h', trusted)).toBe(false);
    expect(isTrustedHost('http://receiver.internal/h', new Set())).toBe(false);
  });

  it('refuses at send time plain http to a host that is not (or no longer) trusted', () => {
    expect(plainHttpProblem('http://hooks.example.com/h')).toBe(
      'plain http is sent only to WEBHOOK_TRUSTED_HOSTS',
    );
    expect(plainHttpProblem('https://hooks.example.com/h')).toBeNull();
  });

  it.each(['https://hooks.example.com/payouts', 'https://example.com:8443/x?y=1', 'https://93.184.216.34/h'])(
    'accepts %s everywhere',
    (url) => {
      expect(webhookUrlProblem(url, false)).toBeNull();
      expect(webhookUrlProblem(url, true)).toBeNull();
    },
  );

  it.each(['http://localhost:4000/hook', 'http://127.0.0.1:4000/hook', 'http://[::1]:4000/hook'])(
    'accepts %s only outside production',
    (url) => {
      expect(webhookUrlProblem(url, false)).toBeNull();
      expect(webhookUrlProblem(url, true)).toBe('must use https://');
    },
  );

  it.each([
    ['not-a-url', 'must be an absolute https:// URL'],
    ['/relative/path', 'must be an absolute https:// URL'],
    ['ftp://example.com/x', 'must be an absolute https:// URL'],
    ['http://example.com/hook', 'must use https://'],
    ['https://user:pw@example.com/hook', 'must not carry a user name or password'],
    [`https://example.com/${'a'.repeat(2048)}`, 'must be at most 2048 characters'],
    ['https://example.com/hook#section', 'must not carry a fragment (#…): it is never sent'],
    ['https://example.com/hook#', 'must not carry a fragment (#…): it is never sent'],
    [' https://example.com/hook', 'must not begin or end with white space'],
    ['https://example.com/hook\n', 'must not begin or end with white space'],
    ...[
      'https://example.com/a\r\nX-Injected: y',
      'https://example.com/a\tb',
      'https://example.com/a b',
      'https://example.com/a\u007fb',
      'http://127.0.0.1:4000\\@evil.example/hook',
      'https://exämple.com/hook',
      'https://\uff45xample.com/hook',
    ].map((url) => [url, NOT_AS_WRITTEN]),
  ])('refuses %j', (url, problem) => {
    expect(webhookUrlProblem(url, false)).toBe(problem);
  });

  it.each([
    'https://10.0.0.8/hook',
    'https://172.16.3.4/hook',
    'https://172.31.0.1/hook',
    'https://192.168.1.1/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://127.0.0.1/hook',
    'https://0.0.0.0/hook',
    'https://[::1]/hook',
    'https://[fd00::1]/hook',
    'https://[fe80::1]/hook',
    'https://[::ffff:10.0.0.1]/hook',
    'https://localhost/hook',
    'https://api.localhost/hook',
  ])('refuses %s in production', (url) => {
    expect(webhookUrlProblem(url, true)).toBe('must not point at a private, loopback or link-local address');
    expect(webhookUrlProblem(url, false)).toBeNull();
  });

  it('tells public from private literals', () => {
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
    expect(isPrivateAddress('172.32.0.1')).toBe(false);
    expect(isPrivateAddress('172.31.255.254')).toBe(true);
    expect(isPrivateAddress('172.15.255.255')).toBe(false);
    expect(isPrivateAddress('100.64.0.1')).toBe(true);
    expect(isPrivateAddress('2606:4700::1111')).toBe(false);
    expect(isPrivateAddress('example.com')).toBe(false);
  });

  it.each([
    ['64:ff9b::a00:1', true, 'NAT64 of 10.0.0.1'],
    ['64:ff9b::10.0.0.1', true, 'NAT64, dotted'],
    ['64:ff9b::5db8:d822', false, 'NAT64 of 93.184.216.34'],
    ['64:ff9b:1::5db8:d822', true, 'local-use NAT64'],
    ['2002:a00:1::1', true, '6to4 of 10.0.0.1'],
    ['2002:5db8:d822::1', false, '6to4 of 93.184.216.34'],
    ['::a00:1', true, 'IPv4-compatible 10.0.0.1'],
    ['::ffff:0:7f00:1', true, 'IPv4-translated 127.0.0.1'],
    ['::ffff:a9fe:a9fe', true, 'IPv4-mapped 169.254.169.254, in hex'],
    ['fec0::1', true, 'site-local'],
    ['2001:db8::1', true, 'documentation'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', true, 'Teredo'],
    ['100::1', true, 'discard-only'],
    ['198.18.0.1', true, 'benchmarking'],
    ['192.0.0.8', true, 'IETF protocol assignments'],
    ['2606:4700:4700::1111', false, 'global unicast'],
  ])('judges %s: private %p (%s)', (address, isPrivate) => {
    expect(isPrivateAddress(address)).toBe(isPrivate);
  });
});

describe(privateLiteralProblem.name, () => {
  it('refuses a private address literal and lets a host name through to the connection check', () => {
    expect(privateLiteralProblem('https://192.168.1.1/x')).toMatch(/192\.168\.1\.1 is a private address/);
    expect(privateLiteralProblem('https://[::1]:8443/x')).toMatch(/private address/);
    expect(privateLiteralProblem('https://93.184.216.34/x')).toBeNull();
    expect(privateLiteralProblem('https://hooks.example.com/x')).toBeNull();
  });
});

describe(publicOnlyLookup.name, () => {
  const resolvesTo =
    (...addresses: string[]): HostLookup =>
    async () =>
      addresses.map((address) => ({ address }));

  /** The lookup's answer as node's connect would receive it. */
  const ask = (lookup: LookupFunction, options: LookupOptions) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) =>
      lookup('hooks.example.com', options, (error, address, family) => resolve({ error, address, family })),
    );

  it('hands every public address to the connection, in the form it asked for', async () => {
    const lookup = publicOnlyLookup(resolvesTo('93.184.216.34', '2606:2800:220:1::1'));
    await expect(ask(lookup, { all: true })).resolves.toEqual({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1::1', family: 6 },
      ],
      family: undefined,
    });
    await expect(ask(lookup, {})).resolves.toEqual({ error: null, address: '93.184.216.34', family: 4 });
    await expect(ask(lookup, { family: 6 })).resolves.toEqual({
      error: null,
      address: '2606:2800:220:1::1',
      family: 6,
    });
  });

  it.each([['10.0.0.7'], ['127.0.0.1'], ['169.254.169.254'], ['::1'], ['fd00::1']])(
    'refuses a host that resolves to %s, even among public addresses',
    async (inside) => {
      const { error } = await ask(publicOnlyLookup(resolvesTo('93.184.216.34', inside)), { all: true });
      expect(error?.code).toBe('EDESTINATIONREFUSED');
      expect(error?.message).toBe('hooks.example.com is refused or does not resolve to a public address');
    },
  );

  it('answers a name that does not resolve, or has no address of the asked family, as it answers a private one', async () => {
    const failing: HostLookup = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    const refusals = [
      await ask(publicOnlyLookup(failing), {}),
      await ask(publicOnlyLookup(resolvesTo('93.184.216.34')), { family: 6 }),
      await ask(publicOnlyLookup(resolvesTo('10.0.0.7')), {}),
    ];
    expect(new Set(refusals.map((r) => `${r.error?.code} ${r.error?.message}`))).toEqual(
      new Set(['EDESTINATIONREFUSED hooks.example.com is refused or does not resolve to a public address']),
    );
  });
});
