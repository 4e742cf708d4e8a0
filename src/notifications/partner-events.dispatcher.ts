import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DEFAULT_JOB_OPTIONS, JobIds, PartnerWebhookJobData, QUEUES } from '../queues/queues';

const BATCH = 500;
/** A pending delivery this long past its time, and not queued this recently, is queued again (Redis lost it). */
const OVERDUE_SECONDS = 60;

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/**
 * Turns what the pipeline and invoices already record into partner events and deliveries, without touching
 * their code. Source rows are not read behind an id cursor (bigserial ids are not in commit order, so a
 * late-committing row would be skipped): every pass inserts whatever rows of the last hours have no event
 * yet, and UNIQUE (source, source_id) makes passes and concurrent dispatchers harmless to each other.
 */
@Injectable()
export class PartnerEventsDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PartnerEventsDispatcher.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    private readonly db: DataSource,
    @InjectQueue(QUEUES.partnerWebhooks) private readonly queue: Queue<PartnerWebhookJobData>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.pass()
        .then(() => undefined)
        .catch((error: Error) => this.logger.warn(`Partner event dispatch failed: ${error.message}`))
        .finally(() => {
          this.running = null;
        });
    }, this.config.partnerWebhooks.dispatchIntervalMs);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass: gather events, fan them out to endpoints, queue deliveries. Answers how many jobs it queued. */
  async pass(): Promise<number> {
    await this.gather();
    await this.fanOut();
    return this.enqueueDue();
  }

  async gather(): Promise<void> {
    const hours = this.config.partnerWebhooks.lookbackHours;
    await this.db.query(
      `INSERT INTO partner_events (partner_id, type, source, source_id, payload)
       SELECT p.partner_id, 'payout.' || t.status, 'payout_timeline', t.id,
              jsonb_build_object(
                'payoutId', p.id, 'platform', p.platform, 'platformPayoutId', p.platform_payout_id,
                'freelancerId', p.freelancer_id, 'gross', p.gross::text, 'currency', p.currency,
                'status', t.status, 'net', p.net::text, 'fees', p.fees, 'invoiceId', p.invoice_id,
                'failureReason', p.failure_reason, 'at', to_char(t.at AT TIME ZONE 'UTC', ${ISO_UTC}))
       FROM payout_timeline t JOIN payouts p ON p.id = t.payout_id
       WHERE t.status IN ('settled', 'failed') AND t.at > now() - make_interval(hours => $1)
         AND NOT EXISTS (SELECT 1 FROM partner_events e WHERE e.source = 'payout_timeline' AND e.source_id = t.id)
       ORDER BY t.id
       ON CONFLICT (source, source_id) DO NOTHING`,
      [hours],
    );
    await this.db.query(
      `INSERT INTO partner_events (partner_id, type, source, source_id, payload)
       SELECT s.partner_id,
              CASE WHEN s.status = 'awaiting_proceeds' AND s.previous_status IS NULL THEN 'invoice.issued'
                   ELSE 'invoice.export_status_changed' END,
              'invoice_status_events', s.id,
              jsonb_build_object(
                'invoiceId', i.id, 'number', i.number, 'payoutId', i.payout_id, 'exportStatus', s.status,
                'previousStatus', s.previous_status, 'at', to_char(s.at AT TIME ZONE 'UTC', ${ISO_UTC}))
       FROM invoice_status_events s JOIN invoices i ON i.id = s.invoice_id
       WHERE s.created_at > now() - make_interval(hours => $1)
         AND NOT EXISTS (
           SELECT 1 FROM partner_events e WHERE e.source = 'invoice_status_events' AND e.source_id = s.id)
       ORDER BY s.id
       ON CONFLICT (source, source_id) DO NOTHING`,
      [hours],
    );
  }

  /**
   * One delivery per new event and active endpoint of its partner, in the same statement that marks the
   * events fanned out: an event reaches the endpoints that existed when it was fanned out, once each.
   */
  async fanOut(): Promise<void> {
    await this.db.query(
      `WITH fresh AS (
         UPDATE partner_events SET fanned_out_at = now()
         WHERE id IN (SELECT id FROM partner_events WHERE fanned_out_at IS NULL
                      ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, partner_id
       )
       INSERT INTO webhook_deliveries (event_id, endpoint_id, partner_id)
       SELECT f.id, w.id, f.partner_id
       FROM fresh f JOIN webhook_endpoints w ON w.partner_id = f.partner_id AND w.deleted_at IS NULL
       ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
      [BATCH],
    );
  }

  /**
   * Queues new deliveries, and again those Redis seems to have lost (long overdue). Job ids carry the attempt
   * count, so queueing one that is already waiting is a no-op.
   */
  async enqueueDue(): Promise<number> {
    const due: { id: string; attempts: number; delay_ms: string }[] = await this.db.query(
      `SELECT id, attempts, GREATEST(0, (extract(epoch FROM next_attempt_at - now()) * 1000)::bigint) AS delay_ms
       FROM webhook_deliveries
       WHERE status = 'pending'
         AND (enqueued_at IS NULL
              OR (next_attempt_at < now() - make_interval(secs => $1)
                  AND enqueued_at < now() - make_interval(secs => $1)))
       ORDER BY next_attempt_at LIMIT $2`,
      [OVERDUE_SECONDS, BATCH],
    );
    if (!due.length) return 0;
    await this.queue.addBulk(
      due.map((d) => ({
        name: 'deliver',
        data: { deliveryId: d.id, attempt: d.attempts },
        opts: {
          ...DEFAULT_JOB_OPTIONS['partner-webhooks'],
          jobId: JobIds.partnerWebhook(d.id, d.attempts),
          delay: Number(d.delay_ms),
        },
      })),
    );
    await this.db.query(`UPDATE webhook_deliveries SET enqueued_at = now() WHERE id = ANY($1::uuid[])`, [
      due.map((d) => d.id),
    ]);
    return due.length;
  }
}
