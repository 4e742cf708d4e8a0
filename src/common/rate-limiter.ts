import { Injectable, Logger } from '@nestjs/common';
import { RedisService } from '../redis/redis.module';
import { Problems } from './problem';

/** One command per request: count, and give the window its expiry when it opens. */
const COUNT_IN_WINDOW = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

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
      count = Number(await this.redis.client.eval(COUNT_IN_WINDOW, 1, key, 2000));
    } catch (error) {
      this.logger.warn(
        `Rate limit for ${scope} was not checked because Redis did not answer: ${String(error)}`,
      );
      return;
    }
    if (count > limitPerSecond) throw Problems.tooManyRequests(1);
  }
}
