import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { PeriodicTask } from '../common/periodic-task';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DEFAULT_JOB_OPTIONS, JobIds, PartnerWebhookJobData, QUEUES } from '../queues/queues';
import { DEFAULT_EVENT_TYPES } from './partner-events';

const BATCH = 500;
/** A pending delivery this long past its time, and not queued this recently, is queued again (Redis lost it). */
const OVERDUE_SECONDS = 60;

/**
 * Turns partner events into deliveries. The events themselves are written by database triggers in the
 * transaction of their source row (a settled or failed payout's timeline row, an invoice status event; see the
 * partner-events-at-source migration), so none is missed or made twice and the pipeline's code knows nothing
 * of them. Each pass claims events not yet fanned out with SKIP LOCKED, so concurrent dispatchers share them.
 */
@Injectable()
export class PartnerEventsDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PartnerEventsDispatcher.name);
  private readonly task = new PeriodicTask(this.logger, 'Partner event dispatch failed', async () => {
    await this.pass();
    return null;
  });

  constructor(
    private readonly db: DataSource,
    @InjectQueue(QUEUES.partnerWebhooks) private readonly queue: Queue<PartnerWebhookJobData>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.task.start(this.config.partnerWebhooks.dispatchIntervalMs);
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** One pass: fan new events out to endpoints, queue deliveries. Answers how many jobs it queued. */
  async pass(): Promise<number> {
    await this.fanOut();
    return this.enqueueDue();
  }

  /**
   * One delivery per new event and active endpoint of its partner that receives its type (the endpoint's `events`,
   * or the default ones), in the same statement that marks the events fanned out: an event reaches the endpoints
   * that existed when it was fanned out, once each. The endpoints are read FOR SHARE: a deletion under way (its
   * row updated, not yet committed) is waited for and then seen, so no delivery is made for an endpoint whose
   * deletion cancelled its pending ones a moment before; it would stay pending, never sent, for ever.
   */
  async fanOut(): Promise<void> {
    await this.db.query(
      `WITH fresh AS (
         UPDATE partner_events SET fanned_out_at = now()
         WHERE id IN (SELECT id FROM partner_events WHERE fanned_out_at IS NULL
                      ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, partner_id, type
       )
       INSERT INTO webhook_deliveries (event_id, endpoint_id, partner_id)
       SELECT f.id, w.id, f.partner_id
       FROM fresh f JOIN webhook_endpoints w ON w.partner_id = f.partner_id AND w.deleted_at IS NULL
         AND f.type = ANY(coalesce(w.events, $2::text[]))
       FOR SHARE OF w
       ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
      [BATCH, DEFAULT_EVENT_TYPES],
    );
  }

  /**
   * Queues new deliveries, and again those Redis seems to have lost (long overdue). Job ids carry the attempt
   * count, so queueing one that is already waiting is a no-op.
   */
  async enqueueDue(): Promise<number> {
    const due: { id: string; attempts: number; delay_ms: string; overdue: boolean }[] = await this.db.query(
      `SELECT id, attempts, GREATEST(0, (extract(epoch FROM next_attempt_at - now()) * 1000)::bigint) AS delay_ms,
              enqueued_at IS NOT NULL AS overdue
       FROM webhook_deliveries
       WHERE status = 'pending'
         AND (enqueued_at IS NULL
              OR (next_attempt_at < now() - make_interval(secs => $1)
                  AND enqueued_at < now() - make_interval(secs => $1)))
       ORDER BY next_attempt_at LIMIT $2`,
      [OVERDUE_SECONDS, BATCH],
    );
    if (!due.length) return 0;
    const overdueBucket = Math.floor(Date.now() / (OVERDUE_SECONDS * 1000));
    await this.queue.addBulk(
      due.map((d) => ({
        name: 'deliver',
        data: { deliveryId: d.id, attempt: d.attempts },
        opts: {
          ...DEFAULT_JOB_OPTIONS['partner-webhooks'],
          // Queued again under an id of its own: the lost job's id may still be held by a finished job (a wait
          // for a free slot ends its job), and adding that id again would do nothing.
          jobId: d.overdue
            ? JobIds.partnerWebhookOverdue(d.id, d.attempts, overdueBucket)
            : JobIds.partnerWebhook(d.id, d.attempts),
          delay: Number(d.delay_ms),
        },
      })),
    );
    // Only where the attempt count is still the one queued: a delivery that moved on meanwhile (an attempt recorded,
    // then a redelivery asked for) is not marked queued by a job meant for its earlier count.
    await this.db.query(
      `UPDATE webhook_deliveries d SET enqueued_at = now()
       FROM unnest($1::uuid[], $2::int[]) AS q(id, attempts)
       WHERE d.id = q.id AND d.attempts = q.attempts`,
      [due.map((d) => d.id), due.map((d) => d.attempts)],
    );
    return due.length;
  }
}
