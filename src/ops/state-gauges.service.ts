import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PayoutQueues } from '../queues/payout-queues.service';
import { MetricsService } from './metrics.service';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * Gauges read from the source of truth at scrape time: payouts per status from Postgres, jobs per queue and
 * state from Redis. A dependency that does not answer leaves its gauges as they were and is logged.
 */
@Injectable()
export class StateGauges {
  private readonly logger = new Logger(StateGauges.name);

  constructor(
    private readonly db: DataSource,
    private readonly queues: PayoutQueues,
    private readonly metrics: MetricsService,
  ) {}

  async refresh(): Promise<void> {
    await Promise.all([this.refreshPayouts(), this.refreshQueues()]);
  }

  private async refreshPayouts(): Promise<void> {
    try {
      const rows: { status: string; n: string }[] = await this.db.query(
        `SELECT status, count(*) AS n FROM payouts GROUP BY status`,
      );
      this.metrics.payoutsByStatus.reset();
      for (const row of rows) this.metrics.payoutsByStatus.set({ status: row.status }, Number(row.n));
    } catch (error) {
      this.logger.warn(`Payout gauges not refreshed: ${String(error)}`);
    }
  }

  private async refreshQueues(): Promise<void> {
    try {
      for (const queue of this.queues.all) {
        const counts = await queue.getJobCounts(...JOB_STATES);
        for (const state of JOB_STATES)
          this.metrics.queueDepth.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    } catch (error) {
      this.logger.warn(`Queue gauges not refreshed: ${String(error)}`);
    }
  }
}
