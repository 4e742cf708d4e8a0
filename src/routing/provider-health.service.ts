import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { ProblemException, Problems } from '../common/problem';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { RedisService } from '../redis/redis.module';
import {
  breakerAllowsTraffic,
  BreakerPhase,
  BreakerRecord,
  breakerPhase,
  CLOSED_BREAKER,
  parseBreakerRecord,
  trialLeaseMs,
} from './breaker';
import { CatalogService } from './catalog.service';
import { ProviderDto } from './dto/route.dto';
import { ProviderAvailability } from './ranking';

/*
 * The breaker lives in Redis so every worker and api replica sees one state, and each change is one Lua
 * script so two processes cannot both open it or both take the trial. Time comes from the caller's Clock
 * rather than Redis TIME, so tests move it without sleeping.
 */

/** KEYS: hash, failures zset. ARGV: now, windowMs, threshold, cooldownMs, unique member. */
const RECORD_FAILURE = `
local now = tonumber(ARGV[1])
if redis.call('HGET', KEYS[1], 'state') == 'open' then
  local openedAt = tonumber(redis.call('HGET', KEYS[1], 'openedAt')) or 0
  if now < openedAt + tonumber(ARGV[4]) then return {'ignored', 0} end
  redis.call('HSET', KEYS[1], 'openedAt', now)
  redis.call('HDEL', KEYS[1], 'trialAt')
  return {'reopened', 0}
end
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
local count = redis.call('ZCARD', KEYS[2])
if count >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'openedAt', now)
  redis.call('HDEL', KEYS[1], 'trialAt')
  redis.call('DEL', KEYS[2])
  return {'opened', count}
end
return {'counted', count}`;

/** KEYS: hash, failures zset. ARGV: now, cooldownMs. Only a success after the cool-down closes the breaker. */
const RECORD_SUCCESS = `
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 'ignored' end
local openedAt = tonumber(redis.call('HGET', KEYS[1], 'openedAt')) or 0
if tonumber(ARGV[1]) < openedAt + tonumber(ARGV[2]) then return 'ignored' end
redis.call('DEL', KEYS[1], KEYS[2])
return 'closed'`;

/**
 * KEYS: hash. ARGV: now, cooldownMs, trial lease ms. Grants the one trial send of a half-open breaker; a granted
 * trial holds it for its lease, as long as its send may take.
 */
const ACQUIRE_SEND = `
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 'closed' end
local now = tonumber(ARGV[1])
local cooldown = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local openedAt = tonumber(redis.call('HGET', KEYS[1], 'openedAt')) or 0
if now < openedAt + cooldown then return 'open' end
local trialAt = tonumber(redis.call('HGET', KEYS[1], 'trialAt'))
if trialAt and now < trialAt + lease then return 'trial_in_flight' end
redis.call('HSET', KEYS[1], 'trialAt', now)
return 'trial'`;

interface BreakerCommands {
  breakerFailure(hash: string, failures: string, ...args: string[]): Promise<[string, number]>;
  breakerSuccess(hash: string, failures: string, ...args: string[]): Promise<string>;
  breakerAcquire(hash: string, ...args: string[]): Promise<string>;
}

const hashKey = (providerId: string) => `breaker:{${providerId}}`;
const failuresKey = (providerId: string) => `breaker:{${providerId}}:failures`;

/** Provider health: the ops switch (Postgres) and a circuit breaker per provider (Redis). */
@Injectable()
export class ProviderHealthService {
  private readonly logger = new Logger(ProviderHealthService.name);
  private readonly commands: BreakerCommands;
  private cached: { records: Map<string, BreakerRecord>; readAt: number } | null = null;
  /** Bumped by every local change, so a read begun before it cannot be cached as fresh. */
  private generation = 0;

  constructor(
    private readonly redis: RedisService,
    private readonly catalog: CatalogService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const client = redis.client;
    client.defineCommand('breakerFailure', { numberOfKeys: 2, lua: RECORD_FAILURE });
    client.defineCommand('breakerSuccess', { numberOfKeys: 2, lua: RECORD_SUCCESS });
    client.defineCommand('breakerAcquire', { numberOfKeys: 1, lua: ACQUIRE_SEND });
    this.commands = client as unknown as BreakerCommands;
  }

  /**
   * A send failure (transient, unknown, or a permanent refusal the provider is at fault for): enough of them
   * within the window open the breaker.
   */
  async recordFailure(providerId: string): Promise<void> {
    const { failureThreshold, windowMs, cooldownMs } = this.config.breaker;
    const now = this.nowMs();
    const outcome = await this.guarded(`record a failure of ${providerId}`, () =>
      this.commands.breakerFailure(
        hashKey(providerId),
        failuresKey(providerId),
        String(now),
        String(windowMs),
        String(failureThreshold),
        String(cooldownMs),
        `${now}:${randomUUID()}`,
      ),
    );
    if (outcome?.[0] === 'opened') {
      this.changed(providerId, 1);
      this.logger.warn(
        `Circuit breaker for provider ${providerId} opened after ${outcome[1]} send failures within ${windowMs} ms; ` +
          `its routes are rejected as unhealthy for ${cooldownMs} ms.`,
      );
    } else if (outcome?.[0] === 'reopened') {
      this.changed(providerId, 1);
      this.logger.warn(
        `Circuit breaker for provider ${providerId} opened again: a send after the cool-down failed.`,
      );
    }
  }

  /** A successful send: closes a breaker whose cool-down has passed (the trial went through). */
  async recordSuccess(providerId: string): Promise<void> {
    const outcome = await this.guarded(`record a success of ${providerId}`, () =>
      this.commands.breakerSuccess(
        hashKey(providerId),
        failuresKey(providerId),
        String(this.nowMs()),
        String(this.config.breaker.cooldownMs),
      ),
    );
    if (outcome === 'closed') {
      this.changed(providerId, 0);
      this.logger.log(
        `Circuit breaker for provider ${providerId} closed: a send after the cool-down succeeded.`,
      );
    }
  }

  /**
   * Asks to send through a provider now: false when ops disabled it or its breaker is open. After the
   * cool-down exactly one caller is granted the trial send; the others wait for its outcome. When Redis
   * does not answer the send may go: the ops switch still holds.
   */
  async acquireSend(providerId: string): Promise<boolean> {
    if (!(await this.catalog.isProviderEnabled(providerId))) return false;
    const outcome = await this.guarded(`take a send slot at ${providerId}`, () =>
      this.commands.breakerAcquire(
        hashKey(providerId),
        String(this.nowMs()),
        String(this.config.breaker.cooldownMs),
        String(this.trialLeaseMs()),
      ),
    );
    if (outcome === 'trial') {
      this.forget();
      this.logger.log(
        `Circuit breaker for provider ${providerId} is half-open: one trial send goes through.`,
      );
    }
    return outcome === undefined || outcome === 'closed' || outcome === 'trial';
  }

  /** Enabled, and its breaker closed: in good health, not merely let through for a trial. */
  async isClosed(providerId: string): Promise<boolean> {
    if (!(await this.catalog.isProviderEnabled(providerId))) return false;
    return this.phase(await this.breakerOf(providerId)) === 'closed';
  }

  /** `disabled` by ops (for good, until enabled), `unhealthy` while its breaker refuses sends, or `available`. */
  async availability(providerId: string): Promise<ProviderAvailability> {
    if (!(await this.catalog.isProviderEnabled(providerId))) return 'disabled';
    return breakerAllowsTraffic(this.phase(await this.breakerOf(providerId))) ? 'available' : 'unhealthy';
  }

  phase(record: BreakerRecord): BreakerPhase {
    return breakerPhase(record, this.nowMs(), this.config.breaker.cooldownMs, this.trialLeaseMs());
  }

  private trialLeaseMs(): number {
    return trialLeaseMs(this.config.breaker.cooldownMs, this.config.sendTimeoutMs);
  }

  /**
   * The stored breakers of the given providers, read at most `maxAgeMs` ago (one round trip when read).
   * When Redis does not answer they read as closed: the ops switch still holds, and quoting goes on.
   */
  async breakers(providerIds: readonly string[], maxAgeMs: number): Promise<Map<string, BreakerRecord>> {
    const cached = this.cached;
    if (
      maxAgeMs > 0 &&
      cached &&
      this.clock.monotonicMs() - cached.readAt < maxAgeMs &&
      providerIds.every((id) => cached.records.has(id))
    ) {
      return cached.records;
    }
    const generation = this.generation;
    const readAt = this.clock.monotonicMs();
    const pipeline = this.redis.client.pipeline();
    for (const id of providerIds) pipeline.hmget(hashKey(id), 'state', 'openedAt', 'trialAt');
    const results = await this.guarded('read the circuit breakers', () => pipeline.exec());
    const records = new Map<string, BreakerRecord>();
    providerIds.forEach((id, i) => {
      const [error, fields] = results?.[i] ?? [null, null];
      const unread = !results || error || !fields;
      const record = unread ? CLOSED_BREAKER : parseBreakerRecord(fields as (string | null)[]);
      records.set(id, record);
      // A breaker that could not be read is not known to be closed: its gauge stays as it was.
      if (!unread) this.metrics.breakerState.set({ provider: id }, record.state === 'open' ? 1 : 0);
    });
    // Only reads allowed to be old fill the cache, and only when no change happened meanwhile.
    if (results && maxAgeMs > 0 && generation === this.generation) this.cached = { records, readAt };
    return records;
  }

  /** Sets `provider_breaker_open` of every provider from Redis (at scrape time: another process may have moved it). */
  async refreshGauges(): Promise<void> {
    const catalog = await this.catalog.snapshot(1000);
    await this.breakers(catalog.providerIds, 0);
  }

  async list(): Promise<ProviderDto[]> {
    const providers = await this.catalog.listProviders();
    const records = await this.breakers(
      providers.map((p) => p.id),
      0,
    );
    return providers.map((p) => ({ ...p, breaker: this.phase(records.get(p.id) ?? CLOSED_BREAKER) }));
  }

  async disable(providerId: string): Promise<ProviderDto> {
    return this.switch(providerId, false);
  }

  /** Enabling is ops saying the provider works again, so its breaker starts closed. */
  async enable(providerId: string): Promise<ProviderDto> {
    return this.switch(providerId, true);
  }

  private async switch(providerId: string, enabled: boolean): Promise<ProviderDto> {
    const provider = await this.catalog.setProviderEnabled(providerId, enabled);
    if (!provider) throw Problems.notFound('Provider');
    if (enabled) {
      // Not guarded: a reset that did not happen must not be answered as a closed breaker. The switch is on in
      // Postgres already; enabling again is harmless, so ops are told to repeat it.
      try {
        await this.redis.client.del(hashKey(providerId), failuresKey(providerId));
      } catch (error) {
        this.logger.warn(
          `Provider ${providerId} enabled by ops, but its circuit breaker was not reset: Redis did not answer (${String(error)}).`,
        );
        throw new ProblemException(
          HttpStatus.SERVICE_UNAVAILABLE,
          'breaker-not-reset',
          `Provider ${providerId} is enabled, but its circuit breaker could not be reset because Redis did not answer; enable it again.`,
        );
      }
      this.changed(providerId, 0);
    }
    this.logger.warn(`Provider ${providerId} ${enabled ? 'enabled' : 'disabled'} by ops.`);
    return { ...provider, enabled, breaker: this.phase(await this.breakerOf(providerId)) };
  }

  private async breakerOf(providerId: string): Promise<BreakerRecord> {
    return (await this.breakers([providerId], 0)).get(providerId) ?? CLOSED_BREAKER;
  }

  private changed(providerId: string, open: 0 | 1): void {
    this.forget();
    this.metrics.breakerState.set({ provider: providerId }, open);
  }

  private forget(): void {
    this.generation += 1;
    this.cached = null;
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  /** Health bookkeeping must not fail the send it describes: a Redis error is logged and skipped. */
  private async guarded<T>(what: string, action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      this.logger.warn(`Could not ${what} because Redis did not answer: ${String(error)}`);
      return undefined;
    }
  }
}
