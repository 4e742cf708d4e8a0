import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { PayoutQueues } from './payout-queues.service';
import { QueueErrorsLogger } from './queue-errors.logger';
import { QUEUES } from './queues';

const queueNames = Object.values(QUEUES);

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        const url = new URL(config.redisUrl);
        return {
          prefix: config.queuePrefix,
          connection: {
            host: url.hostname,
            port: Number(url.port || 6379),
            username: url.username || undefined,
            password: url.password ? decodeURIComponent(url.password) : undefined,
            db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
            tls: url.protocol === 'rediss:' ? {} : undefined,
            enableOfflineQueue: false,
            connectTimeout: 2000,
            // Reconnect every 2 s at most (BullMQ's default backs off to 20 s), so queues resume soon after an
            // outage of Redis ends; a little jitter keeps the connections of many replicas from moving in step.
            retryStrategy: (times: number) => Math.min(250 * times, 2000) + Math.floor(Math.random() * 250),
          },
        };
      },
    }),
    ...queueNames.map((name) => BullModule.registerQueue({ name })),
  ],
  providers: [PayoutQueues, QueueErrorsLogger],
  exports: [PayoutQueues, BullModule],
})
export class QueuesModule {}
