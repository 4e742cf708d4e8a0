import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { RedisService } from './redis.module';

/** The epoch, or a fresh one set when there is none: one command, on any Redis version. */
const READ_OR_START = `local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`;

type EpochRedis = Redis & { epochReadOrStart(key: string, fresh: string): Promise<string> };

/**
 * A counter in Redis that tells every replica when copies it keeps in memory went stale: whoever changes the
 * truth in Postgres bumps it, and a replica compares the value its copy was made under with the current one
 * (read on a call it makes anyway, see RateLimiter's `alsoRead`). One counter, or one per `id` when copies go
 * stale one by one. Keys are under the client's prefix.
 */
export class RedisEpoch {
  private readonly logger = new Logger(RedisEpoch.name);
  private readonly client: EpochRedis;

  constructor(
    private readonly redis: RedisService,
    /** The Redis key, under the client's prefix; with an id, `<key>:<id>`. */
    private readonly key: string,
    /** What the copies are, for the log line when other replicas could not be told. */
    private readonly what: string,
  ) {
    redis.client.defineCommand('epochReadOrStart', { numberOfKeys: 1, lua: READ_OR_START });
    this.client = redis.client as EpochRedis;
  }

  /**
   * Whether a copy made under epoch `held` is still good, given the value `read` from Redis now. A missing value
   * matches nothing: a Redis that lost its keys (restarted empty) must not confirm a copy made before, such as
   * an API key revoked since. The next read() sets a fresh epoch for new copies to be made under.
   */
  static current(read: string | null, held: string | null): boolean {
    return read !== null && held !== null && read === held;
  }

  keyOf(id?: string): string {
    return id === undefined ? this.key : `${this.key}:${id}`;
  }

  /**
   * The current epoch, or null when Redis cannot say (a copy made then must not be trusted later). A missing
   * epoch (never bumped, or lost with Redis's keys) is set to a fresh random value by the same command, so it
   * never stands for copies made before it went missing.
   */
  async read(id?: string): Promise<string | null> {
    try {
      return await this.client.epochReadOrStart(this.keyOf(id), randomUUID());
    } catch {
      return null;
    }
  }

  /**
   * The epoch as it stands, without starting one: `{ value: null }` when there is none, null when Redis cannot
   * say. For ids anyone may name (a webhook's connection id), so that a key is made only for what exists.
   */
  async peek(id?: string): Promise<{ value: string | null } | null> {
    try {
      return { value: await this.redis.client.get(this.keyOf(id)) };
    } catch {
      return null;
    }
  }

  /**
   * Tells every replica that its copies are stale; called after the change is committed in Postgres. A random
   * value rather than a count: after a Redis that lost its keys, a count could come back to a value a replica
   * still holds.
   */
  async bump(id?: string): Promise<void> {
    try {
      await this.redis.client.set(this.keyOf(id), randomUUID());
    } catch (error) {
      this.logger.error(`The ${this.what} of other replicas were not told of a change: ${String(error)}`);
    }
  }
}
