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
    const fresh = randomUUID();
    try {
      const before = await this.redis.client.set(this.keyOf(id), fresh, 'NX', 'GET');
      return before ?? fresh;
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
