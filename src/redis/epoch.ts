import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { RedisService } from './redis.module';

/**
 * A counter in Redis that tells every replica when copies it keeps in memory went stale: whoever changes the
 * truth in Postgres bumps it, and a replica compares the value its copy was made under with the current one
 * (read on a call it makes anyway, see RateLimiter's `alsoRead`). One counter, or one per `id` when copies go
 * stale one by one. Keys are under the client's prefix.
 */
export class RedisEpoch {
  private readonly logger = new Logger(RedisEpoch.name);

  constructor(
    private readonly redis: RedisService,
    /** The Redis key, under the client's prefix; with an id, `<key>:<id>`. */
    private readonly key: string,
    /** What the copies are, for the log line when other replicas could not be told. */
    private readonly what: string,
  ) {}

  /** The epoch a stored value stands for: never bumped yet reads as "0". */
  static of(value: string | null): string {
    return value ?? '0';
  }

  keyOf(id?: string): string {
    return id === undefined ? this.key : `${this.key}:${id}`;
  }

  /** The current epoch, or null when Redis cannot say (a copy made then must not be trusted later). */
  async read(id?: string): Promise<string | null> {
    try {
      return RedisEpoch.of(await this.redis.client.get(this.keyOf(id)));
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
