import { DynamicModule, Module, RequestMethod, Type } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
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
import { LogDestination } from './common/log-destination';
import { InvoicesModule } from './invoices/invoices.module';
import { LedgerModule } from './ledger/ledger.module';
import { ConnectorsModule } from './payouts/connectors/connectors.module';
import { PayoutsModule } from './payouts/payouts.module';
import { QueuesModule } from './queues/queues.module';
import { RoutingModule } from './routing/routing.module';
import { WebhooksModule } from './webhooks/webhooks.module';

/** Headers and fields that must never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["webhook-signature"]',
  'req.headers["stripe-signature"]',
  'req.headers.cookie',
];

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, extra: { clock?: Clock } = {}): DynamicModule {
    const logDestination = new LogDestination();
    const imports: Array<Type | DynamicModule> = [
      ConfigModule.forRoot(config),
      ClockModule.forRoot(extra.clock ?? new Clock()),
      LoggerModule.forRoot({
        // Every route, spelled for Nest 12's router: the library's default pattern matched nothing here, so no
        // request was logged. The request id is Fastify's own (see createApp), which pino-http reuses.
        forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
        pinoHttp: [
          {
            level: config.logLevel,
            // A request's completion line is info: when info is not written ("warn", "silent"), it is not built.
            autoLogging: (pino.levels.values[config.logLevel] ?? Infinity) <= pino.levels.values.info,
            redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
            serializers: {
              req: (req: { id: string; method: string; url: string }) => ({
                id: req.id,
                method: req.method,
                url: req.url,
              }),
            },
          },
          logDestination.stream,
        ],
      }),
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
      providers: [StateGauges, { provide: LogDestination, useValue: logDestination }],
    };
  }
}
