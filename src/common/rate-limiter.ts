import { Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisService } from '../redis/redis.module';
import { Problems } from './problem';

/**
 * One command per request: count, give the window its expiry when it opens, and read one more key the caller
 * needs on the same request (KEYS[2], optional), so a request costs one Redis call and not two.
 */
const COUNT_IN_WINDOW = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if #KEYS > 1 then return {n, redis.call('GET', KEYS[2])} end
return {n, false}`;

type CountingRedis = Redis & {
  countInWindow(
    ...args: [numberOfKeys: number, ...keysAndArgs: (string | number)[]]
  ): Promise<[number, string | null]>;
};

const UNCHECKED_WARNING_EVERY_MS = 10_000;

/** What one counted request learnt from Redis; `null` when Redis did not answer and the request passed uncounted. */
export type Counted = { read: string | null } | null;

/**
 * Fixed one-second windows counted in Redis, so every api replica shares the limit.
 * If Redis cannot answer, the request passes: a rate limit must not take the API down with it.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly redis: CountingRedis;
  /** Requests let through uncounted since the last warning: one line per UNCHECKED_WARNING_EVERY_MS, not each. */
  private unchecked = 0;
  private warnedAtMs = Number.NEGATIVE_INFINITY;

  constructor(redis: RedisService) {
    // A defined command runs by EVALSHA: Redis does not hash the script text again on every request.
    redis.client.defineCommand('countInWindow', { lua: COUNT_IN_WINDOW });
    this.redis = redis.client as CountingRedis;
  }

  /**
   * Counts one request of `id` in the current second and throws 429 past `limitPerSecond`. With `alsoRead`, the
   * value of that key (under the client's prefix) comes back from the same call.
   */
  async consume(
    scope: string,
    id: string,
    limitPerSecond: number,
    options: { alsoRead?: string; nowMs?: number } = {},
  ): Promise<Counted> {
    const second = Math.floor((options.nowMs ?? Date.now()) / 1000);
    const keys = [`rl:${scope}:${id}:${second}`, ...(options.alsoRead ? [options.alsoRead] : [])];
    let count: number;
    let read: string | null;
    try {
      [count, read] = await this.redis.countInWindow(keys.length, ...keys, 2000);
    } catch (error) {
      this.noteUnchecked(scope, error);
      return null;
    }
    if (count > limitPerSecond) throw Problems.tooManyRequests(1);
    return { read };
  }

  private noteUnchecked(scope: string, error: unknown): void {
    this.unchecked += 1;
    const nowMs = Date.now();
    if (nowMs - this.warnedAtMs < UNCHECKED_WARNING_EVERY_MS) return;
    this.logger.warn(
      `Rate limits were not checked for ${this.unchecked} request(s) because Redis did not answer ` +
        `(the latest for ${scope}: ${String(error)}); they were let through.`,
    );
    this.unchecked = 0;
    this.warnedAtMs = nowMs;
  }
}
