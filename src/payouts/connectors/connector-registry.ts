import { Injectable } from '@nestjs/common';
import { ProviderConnector } from './provider-connector';
import { SandboxConnectorFactory } from './sandbox/sandbox.connector';
import { SANDBOX_PROVIDER_IDS } from './sandbox/sandbox-providers';

export class UnknownProviderError extends Error {}

/**
 * The connector of each provider. Every provider of the catalog starts with its sandbox connector; a real
 * connector calls `register` at start-up (e.g. from its module's onModuleInit) and replaces it, without
 * routing or ledger code knowing.
 */
@Injectable()
export class ConnectorRegistry {
  private readonly connectors = new Map<string, ProviderConnector>();

  constructor(sandbox: SandboxConnectorFactory) {
    for (const providerId of SANDBOX_PROVIDER_IDS)
      this.connectors.set(providerId, sandbox.create(providerId));
  }

  get(providerId: string): ProviderConnector {
    const connector = this.connectors.get(providerId);
    if (!connector) throw new UnknownProviderError(`No connector for provider "${providerId}"`);
    return connector;
  }

  register(connector: ProviderConnector): void {
    this.connectors.set(connector.providerId, connector);
  }

  providerIds(): string[] {
    return [...this.connectors.keys()];
  }
}
