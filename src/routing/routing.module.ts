import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service';
import { OpsProvidersController } from './ops-providers.controller';
import { OpsRoutesController } from './ops-routes.controller';
import { ProviderHealthService } from './provider-health.service';
import { QuotesController } from './quotes.controller';
import { RoutingService } from './routing.service';

/** Route catalog, fee math and ranking, provider health, the quotes endpoint and its ops controls. */
@Module({
  controllers: [QuotesController, OpsRoutesController, OpsProvidersController],
  providers: [CatalogService, ProviderHealthService, RoutingService],
  exports: [RoutingService, ProviderHealthService, CatalogService],
})
export class RoutingModule {}
