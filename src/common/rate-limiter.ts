import { Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { RedisService } from '../redis/redis.module';
import { Problems } from './problem';

/**
 * One command per request. KEYS[1] is the log of one caller's requests of the last second, a sorted set scored
 * by time: what fell out of the window is dropped, and the request is let in (and logged) only while fewer than
 * the limit remain, so no second, wherever it starts, holds more than the limit. A refused request is not logged:
 * a caller that keeps knocking still gets the limit's rate through. KEYS[2], optional, is one more key the
 * caller needs on the same request, read here so a request costs one Redis call and not two.
 * ARGV: now (ms; empty for Redis's own clock, which every replica shares), window (ms), limit, a member unique
 * to this request.
 */
const ADMIT_IN_WINDOW = `local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local admitted = 0
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  admitted = 1
end
if #KEYS > 1 then return {admitted, redis.call('GET', KEYS[2])} end
return {admitted, false}`;

const WINDOW_MS = 1000;

type AdmittingRedis = Redis & {
  admitInWindow(
    ...args: [numberOfKeys: number, ...keysAndArgs: (string | number)[]]
  ): Promise<[0 | 1, string | null]>;
};

const UNCHECKED_WARNING_EVERY_MS = 10_000;

/** What one counted request learnt from Redis; `null` when Redis did not answer and the request passed uncounted. */
export type Counted = { read: string | null } | null;

/** As `Counted`, with whether the request was admitted. */
export type Tally = { admitted: boolean; read: string | null } | null;

/**
 * A sliding one-second window kept in Redis, so every api replica shares the limit: at most the limit in any
 * second, where fixed windows would let twice as many through across the turn of one.
 * If Redis cannot answer, the request passes: a rate limit must not take the API down with it.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly redis: AdmittingRedis;
  /** Tells this process's requests apart in a log shared with other replicas, within one millisecond. */
  private readonly tag = randomBytes(6).toString('base64url');
  private sequence = 0;
  /** Requests let through uncounted since the last warning: one line per UNCHECKED_WARNING_EVERY_MS, not each. */
  private unchecked = 0;
  private warnedAtMs = Number.NEGATIVE_INFINITY;

  constructor(redis: RedisService) {
    // A defined command runs by EVALSHA: Redis does not hash the script text again on every request.
    redis.client.defineCommand('admitInWindow', { lua: ADMIT_IN_WINDOW });
    this.redis = redis.client as AdmittingRedis;
  }

  /**
   * Admits one request of `id`, or throws 429 when `limitPerSecond` requests of it were admitted in the last
   * second. With `alsoRead`, the value of that key (under the client's prefix) comes back from the same call.
   * `nowMs` is the request's time for a test; by default Redis's clock, so a replica whose clock is off neither
   * drops other replicas' requests from the window early nor holds its own in it too long.
   */
  async consume(
    scope: string,
    id: string,
    limitPerSecond: number,
    options: { alsoRead?: string; nowMs?: number } = {},
  ): Promise<Counted> {
    const counted = await this.count(scope, id, limitPerSecond, options);
    if (counted && !counted.admitted) throw Problems.tooManyRequests(1);
    return counted && { read: counted.read };
  }

  /**
   * As `consume`, but answers a refusal (`admitted: false`) instead of throwing it, for a caller that must read
   * `alsoRead` before it knows whether the refusal or another answer is due.
   */
  async count(
    scope: string,
    id: string,
    limitPerSecond: number,
    options: { alsoRead?: string; nowMs?: number } = {},
  ): Promise<Tally> {
    const keys = [`rl:${scope}:${id}`, ...(options.alsoRead ? [options.alsoRead] : [])];
    this.sequence = (this.sequence + 1) % Number.MAX_SAFE_INTEGER;
    const member = `${this.tag}:${this.sequence}`;
    let admitted: 0 | 1;
    let read: string | null;
    try {
      [admitted, read] = await this.redis.admitInWindow(
        keys.length,
        ...keys,
        options.nowMs ?? '',
        WINDOW_MS,
        limitPerSecond,
        member,
      );
    } catch (error) {
      this.noteUnchecked(scope, error);
      return null;
    }
    if (this.unchecked) this.noteCheckedAgain();
    return { admitted: admitted === 1, read };
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

  /** Redis answers again: the requests let through since the last warning are told too, not left out. */
  private noteCheckedAgain(): void {
    this.logger.warn(
      `Rate limits are checked again; ${this.unchecked} more request(s) were let through unchecked before Redis answered.`,
    );
    this.unchecked = 0;
    this.warnedAtMs = Number.NEGATIVE_INFINITY;
  }
}
