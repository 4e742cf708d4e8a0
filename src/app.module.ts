import { DynamicModule, Module, Type } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { Clock } from './common/clock';
import { dataSourceOptions } from './database/data-source-options';
import { FreelancersModule } from './freelancers/freelancers.module';
import { HealthController } from './ops/health.controller';
import { MetricsController } from './ops/metrics.controller';
import { MetricsModule } from './ops/metrics.module';
import { NotificationsModule } from './notifications/notifications.module';
import { NotificationsWorkerModule } from './notifications/notifications-worker.module';
import { StateGauges } from './ops/state-gauges.service';
import { QueueDashboardModule } from './ops/queue-dashboard.module';
import { PipelineWorkerModule } from './payouts/pipeline-worker.module';
import { PartnersModule } from './partners/partners.module';
import { RedisModule } from './redis/redis.module';
import { ClockModule } from './common/clock.module';
import { createRootLogger, ROOT_LOGGER } from './common/app-logger';
import { LogDestination } from './common/log-destination';
import { InvoicesModule } from './invoices/invoices.module';
import { LedgerModule } from './ledger/ledger.module';
import { ConnectorsModule } from './payouts/connectors/connectors.module';
import { PayoutsModule } from './payouts/payouts.module';
import { QueuesModule } from './queues/queues.module';
import { RoutingModule } from './routing/routing.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, extra: { clock?: Clock } = {}): DynamicModule {
    const logDestination = new LogDestination();
    const imports: Array<Type | DynamicModule> = [
      ConfigModule.forRoot(config),
      ClockModule.forRoot(extra.clock ?? new Clock()),
      TypeOrmModule.forRoot(dataSourceOptions(config.databaseUrl)),
      RedisModule,
      MetricsModule,
      QueuesModule,
      PartnersModule,
      FreelancersModule,
      RoutingModule,
      LedgerModule,
      ConnectorsModule,
      InvoicesModule,
      PayoutsModule,
      WebhooksModule,
      NotificationsModule,
      QueueDashboardModule,
    ];
    if (config.role !== 'api') imports.push(PipelineWorkerModule);
    if (config.role !== 'api') imports.push(NotificationsWorkerModule);
    return {
      module: AppModule,
      imports,
      controllers: [HealthController, MetricsController],
      providers: [
        StateGauges,
        { provide: LogDestination, useValue: logDestination },
        { provide: ROOT_LOGGER, useValue: createRootLogger(config.logLevel, logDestination.stream) },
      ],
    };
  }
}
