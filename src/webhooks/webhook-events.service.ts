import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { pageClause, toPage } from '../common/pagination';
import { FieldError } from '../common/problem';
import { EventQuery, WebhookEventDto, WebhookEventPageDto } from './dto/webhook-event.dto';

export type StoredStatus = 'accepted' | 'rejected' | 'ignored';

/** One signed notification as it is written to the event store. */
export interface EventRecord {
  connectionId: string;
  partnerId: string;
  eventId: string;
  type: string | null;
  rawBody: Buffer;
  headers: Record<string, string>;
}

interface EventRow {
  id: string;
  connection_id: string;
  partner_id: string;
  event_id: string;
  event_type: string | null;
  status: StoredStatus;
  raw_body: Buffer;
  headers: Record<string, string>;
  errors: FieldError[] | null;
  payout_id: string | null;
  payout_status: string | null;
  created_at: Date;
}

/** How long intake's enqueued marks wait to be written together, and how many make a write at once. */
const MARK_DELAY_MS = 20;
const MARK_BATCH = 500;

/** The webhook_events table: the durable record of every signed notification, and the route-payout outbox. */
@Injectable()
export class WebhookEventsService implements OnApplicationShutdown {
  private readonly logger = new Logger(WebhookEventsService.name);
  private pendingMarks: string[] = [];
  private markTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly db: DataSource) {}

  /**
   * Stores a signed event that makes no payout (rejected or ignored) unless (connection, event id) is
   * already stored; answers false for a duplicate.
   */
  async insertUnrouted(
    record: EventRecord,
    status: 'rejected' | 'ignored',
    errors: FieldError[] | null,
  ): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO webhook_events (connection_id, partner_id, event_id, event_type, status, raw_body, headers, errors)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (connection_id, event_id) DO NOTHING
       RETURNING id`,
      [
        record.connectionId,
        record.partnerId,
        record.eventId,
        record.type,
        status,
        record.rawBody,
        JSON.stringify(record.headers),
        errors === null ? null : JSON.stringify(errors),
      ],
    );
    return rows.length > 0;
  }

  /**
   * Stores an accepted event, already linked to its payout, in the caller's transaction; answers false for a
   * duplicate (a concurrent twin waits on the unique key, then sees the winner's row). Only the event that
   * created the payout leaves enqueued_at empty: its route job is owed; a later event owes nothing.
   */
  async insertAccepted(
    manager: EntityManager,
    record: EventRecord,
    link: { id: string; payoutId: string; owesRouting: boolean },
  ): Promise<boolean> {
    const rows = await manager.query(
      `INSERT INTO webhook_events (id, connection_id, partner_id, event_id, event_type, status, raw_body, headers,
                                   payout_id, enqueued_at)
       VALUES ($1, $2, $3, $4, $5, 'accepted', $6, $7, $8, CASE WHEN $9::boolean THEN NULL ELSE now() END)
       ON CONFLICT (connection_id, event_id) DO NOTHING
       RETURNING id`,
      [
        link.id,
        record.connectionId,
        record.partnerId,
        record.eventId,
        record.type,
        record.rawBody,
        JSON.stringify(record.headers),
        link.payoutId,
        link.owesRouting,
      ],
    );
    return rows.length > 0;
  }

  /**
   * Notes that an event's route job reached the queue. Marks are written together a few milliseconds later:
   * a mark lost to a crash only makes the sweeper queue the same job id again, which is a no-op.
   */
  noteEnqueued(id: string): void {
    this.pendingMarks.push(id);
    if (this.pendingMarks.length >= MARK_BATCH) {
      this.flushMarks();
    } else if (!this.markTimer) {
      this.markTimer = setTimeout(() => this.flushMarks(), MARK_DELAY_MS);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.flushMarks();
    await this.flushing;
  }

  private flushMarks(): void {
    clearTimeout(this.markTimer);
    this.markTimer = undefined;
    const ids = this.pendingMarks;
    this.pendingMarks = [];
    if (ids.length === 0) return;
    this.flushing = this.flushing
      .then(() => this.markEnqueued(this.db.manager, ids))
      .catch((error: Error) =>
        this.logger.warn(
          `Marking ${ids.length} events as queued failed (${error.message}); the sweeper will.`,
        ),
      );
  }

  async markEnqueued(manager: EntityManager, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await manager.query(
      `UPDATE webhook_events SET enqueued_at = now() WHERE id = ANY($1::uuid[]) AND enqueued_at IS NULL`,
      [ids],
    );
  }

  /**
   * Locks up to `limit` accepted events whose route job was never handed to the queue (older than
   * `graceMs`, so intake that is about to enqueue is left alone). Skips rows another sweeper holds.
   */
  async lockUnenqueued(
    manager: EntityManager,
    limit: number,
    graceMs: number,
  ): Promise<{ id: string; eventId: string; payoutId: string }[]> {
    const rows: { id: string; event_id: string; payout_id: string }[] = await manager.query(
      `SELECT id, event_id, payout_id FROM webhook_events
       WHERE status = 'accepted' AND enqueued_at IS NULL AND payout_id IS NOT NULL
         AND created_at < now() - make_interval(secs => $2 / 1000.0)
       ORDER BY created_at
       LIMIT $1
       FOR UPDATE SKIP LOCKED`,
      [limit, graceMs],
    );
    return rows.map((r) => ({ id: r.id, eventId: r.event_id, payoutId: r.payout_id }));
  }

  /** Ops view: newest first; `unmatched` are accepted events whose payout found no freelancer. */
  async list(query: EventQuery): Promise<WebhookEventPageDto> {
    const params: unknown[] = [];
    let where = 'TRUE';
    if (query.status === 'unmatched') {
      where = `p.status = 'unmatched'`;
    } else if (query.status) {
      params.push(query.status);
      where = `e.status = $${params.length}`;
    }
    const rows: EventRow[] = await this.db.query(
      `SELECT e.*, p.status AS payout_status
       FROM webhook_events e LEFT JOIN payouts p ON p.id = e.payout_id
       WHERE ${where}${pageClause(query, params, 'e')}`,
      params,
    );
    return toPage(rows, query, toDto);
  }
}

function toDto(row: EventRow): WebhookEventDto {
  return {
    id: row.id,
    connectionId: row.connection_id,
    partnerId: row.partner_id,
    eventId: row.event_id,
    type: row.event_type,
    status: row.status,
    errors: row.errors,
    payoutId: row.payout_id,
    payoutStatus: row.payout_status,
    rawBody: row.raw_body.toString('utf8'),
    headers: row.headers,
    receivedAt: row.created_at.toISOString(),
  };
}
