import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/** The shared Redis client for rate limits and the circuit breaker (BullMQ keeps its own connections). */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.client = new Redis(config.redisUrl, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2000,
      // A Redis that accepts commands and never answers (hung, or a network that drops packets) fails them here,
      // as a Redis that is down does, instead of holding every request that counts a rate limit.
      commandTimeout: config.redisCommandTimeoutMs,
      keyPrefix: `${config.queuePrefix}:`,
      // Commands issued in the same tick share one write: many concurrent rate-limit counts, one syscall.
      enableAutoPipelining: true,
    });
    this.client.on('error', () => undefined);
  }

  /** Answers true when Redis replies to PING within the timeout. */
  async ping(timeoutMs = 1000): Promise<boolean> {
    try {
      const reply = await Promise.race([
        this.client.ping(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
      ]);
      return reply === 'PONG';
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.client.disconnect();
  }
}

@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
