import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { PayoutQueues } from '../queues/payout-queues.service';
import { QUEUES } from '../queues/queues';
import { ProviderHealthService } from '../routing/provider-health.service';
import { MetricsService } from './metrics.service';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** Scrapes closer together than this share one reading: /metrics needs no credential, so it must stay cheap. */
export const GAUGE_REFRESH_MIN_MS = 1000;
/** A scrape waits this long for a reading at most, then answers with the gauges as they stand. */
export const GAUGE_READING_WAIT_MS = 1000;

/**
 * Gauges read from the source of truth at scrape time: payouts per status and the accepted transfers not settled
 * yet from Postgres, jobs per queue and state (the pipeline's and the partner webhooks') and the breakers from Redis. Concurrent scrapes share one reading, and a reading
 * serves every scrape for a second, so however often /metrics is called the count runs at most once a second. A dependency that does not answer
 * leaves its gauges as they were and is logged.
 */
@Injectable()
export class StateGauges {
  private readonly logger = new Logger(StateGauges.name);

  constructor(
    private readonly db: DataSource,
    private readonly queues: PayoutQueues,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    private readonly health: ProviderHealthService,
    @InjectQueue(QUEUES.partnerWebhooks) private readonly partnerWebhooks: Queue,
  ) {}

  private reading: Promise<void> | null = null;
  private readAtMs = Number.NEGATIVE_INFINITY;

  /**
   * Starts a reading unless one runs or a recent one stands, and waits for it at most GAUGE_READING_WAIT_MS: a
   * Redis or Postgres that hangs must not hang the scrape (the reading goes on, and the next scrape shares it).
   */
  async refresh(): Promise<void> {
    if (!this.reading && this.clock.monotonicMs() - this.readAtMs >= GAUGE_REFRESH_MIN_MS) {
      this.reading = Promise.all([this.refreshPayouts(), this.refreshQueues(), this.refreshBreakers()])
        .then(() => undefined)
        .finally(() => {
          this.readAtMs = this.clock.monotonicMs();
          this.reading = null;
        });
    }
    if (!this.reading) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, GAUGE_READING_WAIT_MS);
    });
    await Promise.race([this.reading, waited]).finally(() => clearTimeout(timer));
  }

  private async refreshPayouts(): Promise<void> {
    try {
      const rows: { status: string; n: string }[] = await this.db.query(
        `SELECT status, count(*) AS n FROM payouts GROUP BY status`,
      );
      this.metrics.payoutsByStatus.reset();
      for (const row of rows) this.metrics.payoutsByStatus.set({ status: row.status }, Number(row.n));
      // Through the open payouts' index: only payouts still sending hold an accepted transfer.
      const accepted: { provider: string; n: string; oldest: string }[] = await this.db.query(
        `SELECT a.provider, count(*) AS n,
                extract(epoch FROM clock_timestamp() - min(coalesce(a.last_send_at, a.created_at))) AS oldest
         FROM payouts p JOIN payout_attempts a ON a.payout_id = p.id
         WHERE p.status = 'sending' AND a.status = 'accepted'
         GROUP BY a.provider`,
      );
      this.metrics.acceptedTransfersOpen.reset();
      this.metrics.acceptedTransferOldestSeconds.reset();
      for (const row of accepted) {
        this.metrics.acceptedTransfersOpen.set({ provider: row.provider }, Number(row.n));
        this.metrics.acceptedTransferOldestSeconds.set(
          { provider: row.provider },
          Math.floor(Number(row.oldest)),
        );
      }
    } catch (error) {
      this.logger.warn(`Payout gauges not refreshed: ${String(error)}`);
    }
  }

  /** The breakers live in Redis, shared by every process: what this process last saw of them may be stale. */
  private async refreshBreakers(): Promise<void> {
    try {
      await this.health.refreshGauges();
    } catch (error) {
      this.logger.warn(`Breaker gauges not refreshed: ${String(error)}`);
    }
  }

  private async refreshQueues(): Promise<void> {
    try {
      for (const queue of [...this.queues.all, this.partnerWebhooks]) {
        const counts = await queue.getJobCounts(...JOB_STATES);
        for (const state of JOB_STATES)
          this.metrics.queueDepth.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    } catch (error) {
      this.logger.warn(`Queue gauges not refreshed: ${String(error)}`);
    }
  }
}
