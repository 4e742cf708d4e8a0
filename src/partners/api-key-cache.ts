import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { RedisEpoch } from '../redis/epoch';
import { RedisService } from '../redis/redis.module';
import type { AuthenticatedPartner } from './partners.service';

const MAX_ENTRIES = 10_000;
/**
 * How long a resolved key is trusted at most. Revocation reaches every replica at once through the epoch; this
 * bounds the one case it cannot: a revocation whose epoch bump failed because Redis was unreachable.
 */
export const API_KEY_CACHE_TTL_MS = 60_000;

/**
 * Resolved API keys kept in memory, valid only while the revocation epoch in Redis is unchanged. Revoking a key
 * bumps the epoch, so every api replica drops its cache on its next request: revocation still takes effect at
 * once, and a known key costs one Redis read (made by its rate-limit count) instead of a Postgres query.
 * Without Redis the cache is not trusted and every request asks Postgres.
 */
@Injectable()
export class ApiKeyCache {
  private readonly entries = new Map<
    string,
    { partner: AuthenticatedPartner; epoch: string; cachedAtMs: number }
  >();

  /** The Redis key (under the client's prefix) whose value changes whenever a key is revoked. */
  static readonly EPOCH_KEY = 'auth:api-key-epoch';

  private readonly revocations: RedisEpoch;

  constructor(
    redis: RedisService,
    private readonly clock: Clock,
  ) {
    this.revocations = new RedisEpoch(redis, ApiKeyCache.EPOCH_KEY, 'API key caches');
  }

  /** The current revocation epoch, or null when Redis cannot say. */
  epoch(): Promise<string | null> {
    return this.revocations.read();
  }

  lookup(keyHash: string): { partner: AuthenticatedPartner; epoch: string } | undefined {
    const entry = this.entries.get(keyHash);
    if (!entry) return undefined;
    if (this.clock.now().getTime() - entry.cachedAtMs >= API_KEY_CACHE_TTL_MS) {
      this.entries.delete(keyHash);
      return undefined;
    }
    return entry;
  }

  remember(keyHash: string, partner: AuthenticatedPartner, epoch: string | null): void {
    if (epoch === null) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(keyHash, { partner, epoch, cachedAtMs: this.clock.now().getTime() });
  }

  forget(keyHash: string): void {
    this.entries.delete(keyHash);
  }

  /** Called after a key is revoked in Postgres. */
  async invalidate(): Promise<void> {
    this.entries.clear();
    await this.revocations.bump();
  }
}
