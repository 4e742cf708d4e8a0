import { HostLookup, isPrivateAddress, privateDestinationProblem, webhookUrlProblem } from './webhook-url';

describe(webhookUrlProblem.name, () => {
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
    ['not a url', 'must be an absolute https:// URL'],
    ['/relative/path', 'must be an absolute https:// URL'],
    ['ftp://example.com/x', 'must be an absolute https:// URL'],
    ['http://example.com/hook', 'must use https://'],
    ['https://user:pw@example.com/hook', 'must not carry a user name or password'],
    [`https://example.com/${'a'.repeat(2048)}`, 'must be at most 2048 characters'],
  ])('refuses %s', (url, problem) => {
    expect(webhookUrlProblem(url, false)).toBe(problem);
  });

  it.each([
    'https://10.0.0.8/hook',
    'https://172.16.3.4/hook',
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
    expect(isPrivateAddress('100.64.0.1')).toBe(true);
    expect(isPrivateAddress('2606:4700::1111')).toBe(false);
    expect(isPrivateAddress('example.com')).toBe(false);
  });
});

describe(privateDestinationProblem.name, () => {
  const resolvesTo =
    (...addresses: string[]): HostLookup =>
    async () =>
      addresses.map((address) => ({ address }));

  it('lets a host through when every address it resolves to is public', async () => {
    await expect(
      privateDestinationProblem('https://hooks.example.com/x', resolvesTo('93.184.216.34')),
    ).resolves.toBeNull();
  });

  it.each([['10.0.0.7'], ['127.0.0.1'], ['169.254.169.254'], ['::1'], ['fd00::1']])(
    'refuses a host that resolves to %s, even among public addresses',
    async (inside) => {
      await expect(
        privateDestinationProblem('https://hooks.example.com/x', resolvesTo('93.184.216.34', inside)),
      ).resolves.toMatch(new RegExp(`resolves to the private address ${inside.replace(/\./g, '\\.')}`));
    },
  );

  it('refuses a host that does not resolve, and a private literal without asking', async () => {
    const failing: HostLookup = async () => {
      throw new Error('ENOTFOUND');
    };
    await expect(privateDestinationProblem('https://nowhere.invalid/x', failing)).resolves.toMatch(
      /did not resolve/,
    );
    await expect(privateDestinationProblem('https://192.168.1.1/x', failing)).resolves.toMatch(
      /private address/,
    );
  });
});
