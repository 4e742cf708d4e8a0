import { ConnectorRegistry, UnknownProviderError } from './connector-registry';
import { ProviderConnector } from './provider-connector';
import { SandboxConnectorFactory } from './sandbox/sandbox.connector';

function fakeConnector(providerId: string, label: string): ProviderConnector & { label: string } {
  return {
    providerId,
    label,
    send: async () => ({ kind: 'transient', error: label }),
    getStatus: async () => ({ state: 'not_found' }),
    statement: async () => ({ lines: [], next: null }),
  };
}

describe(ConnectorRegistry.name, () => {
  const sandbox = {
    create: (id: string) => fakeConnector(id, 'sandbox'),
  } as unknown as SandboxConnectorFactory;

  it('has a sandbox connector for every provider of the catalog', () => {
    const sut = new ConnectorRegistry(sandbox);
    expect(sut.providerIds().sort()).toEqual(
      ['correspondent', 'payoneer', 'sadapay', 'upwork', 'wise', 'zindigi'].sort(),
    );
    for (const id of sut.providerIds()) expect(sut.get(id).providerId).toBe(id);
  });

  it('throws for a provider it does not know', () => {
    expect(() => new ConnectorRegistry(sandbox).get('paypal')).toThrow(UnknownProviderError);
  });

  it('lets a real connector replace the sandbox one of its provider only', () => {
    const sut = new ConnectorRegistry(sandbox);
    const real = fakeConnector('payoneer', 'real');
    sut.register(real);
    expect(sut.get('payoneer')).toBe(real);
    expect((sut.get('wise') as ReturnType<typeof fakeConnector>).label).toBe('sandbox');
  });
});
