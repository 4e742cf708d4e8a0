import { Injectable, Logger } from '@nestjs/common';
import { RedisService } from '../redis/redis.module';
import { Problems } from './problem';

/**
 * Fixed one-second windows counted in Redis, so every api replica shares the limit.
 * If Redis cannot answer, the request passes: a rate limit must not take the API down with it.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);

  constructor(private readonly redis: RedisService) {}

  async consume(scope: string, id: string, limitPerSecond: number, nowMs = Date.now()): Promise<void> {
    const second = Math.floor(nowMs / 1000);
    const key = `rl:${scope}:${id}:${second}`;
    let count: number;
    try {
      const results = await this.redis.client.multi().incr(key).pexpire(key, 2000).exec();
      count = Number(results?.[0]?.[1] ?? 0);
    } catch (error) {
      this.logger.warn(
        `Rate limit for ${scope} was not checked because Redis did not answer: ${String(error)}`,
      );
      return;
    }
    if (count > limitPerSecond) throw Problems.tooManyRequests(1);
  }
}
