import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { pageClause, toPage } from '../common/pagination';
import { FieldError, Problems } from '../common/problem';
import { PayoutInstruction, payoutRow, PayoutSource } from '../payouts/payout-instruction';
import { EventQuery, WebhookEventDto, WebhookEventPageDto } from './dto/webhook-event.dto';
import { Platform } from './platforms';
import { SignatureScheme } from './signatures/signature-schemes';

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

/** A stored event ops asked to be read again, with what its connection says of its payload. */
export interface StoredEvent {
  rowId: string;
  status: StoredStatus;
  platform: Platform;
  scheme: SignatureScheme;
  connectionDeleted: boolean;
  record: EventRecord;
}

/** Ops's view of events (`e`): each with the status of its payout, if it made one. */
const EVENT_VIEW = `SELECT e.*, p.status AS payout_status
  FROM webhook_events e LEFT JOIN payouts p ON p.id = e.payout_id`;

/** How long intake's enqueued marks wait to be written together, and how many make a write at once. */
const MARK_DELAY_MS = 20;
const MARK_BATCH = 500;

/**
 * SQL: why an event disagrees with payout row `p` on who is paid, how much or in what currency, or NULL when it
 * agrees. The other arguments are the placeholders of the platform payout id and of the event's figures.
 */
function disagreement(
  p: string,
  platformPayoutId: string,
  gross: string,
  currency: string,
  ref: string,
): string {
  return `CASE WHEN ${p}.gross <> ${gross}::numeric OR ${p}.currency <> ${currency}::text OR ${p}.freelancer_ref <> ${ref}::text
     THEN format('payout %s was received as %s %s for %s; this event says %s %s for %s', ${platformPayoutId},
                 ${p}.gross, ${p}.currency, ${p}.freelancer_ref, ${gross}::numeric, ${currency}::text, ${ref}::text) END`;
}

/** SQL: the stored errors of an event rejected for `message`, or NULL when `message` is NULL. */
function rejectionErrors(message: string): string {
  return `CASE WHEN ${message} IS NOT NULL
     THEN jsonb_build_array(jsonb_build_object('field', 'platformPayoutId', 'message', ${message})) END`;
}

/** The key that refuses an event linked to a payout no statement made (see acceptWithPayout). */
const PAYOUT_LINK = 'webhook_events_payout_fk';

type AcceptOutcome =
  | { duplicate: true }
  | { duplicate: false; conflict: string }
  | { duplicate: false; conflict: null; payoutId: string; created: boolean };

/** The webhook_events table: the durable record of every signed notification, and the route-payout outbox. */
@Injectable()
export class WebhookEventsService implements OnApplicationShutdown {
  private readonly logger = new Logger(WebhookEventsService.name);
  private pendingMarks: string[] = [];
  private markTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly db: DataSource) {}

  /** Whether (connection, event id) is already stored. */
  async isStored(connectionId: string, eventId: string): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 FROM webhook_events WHERE connection_id = $1 AND event_id = $2`,
      [connectionId, eventId],
    );
    return rows.length > 0;
  }

  /**
   * Stores a signed event that makes no payout (rejected or ignored) unless (connection, event id) is
   * already stored; answers false for a duplicate. Throws 404 when the connection is deleted (see acceptWithPayout).
   */
  async insertUnrouted(
    record: EventRecord,
    status: 'rejected' | 'ignored',
    errors: FieldError[] | null,
  ): Promise<boolean> {
    // Only while the connection is not deleted, as acceptWithPayout: a deletion waits for this share lock, and
    // one that committed first leaves nothing stored (the platform is answered 404).
    const [row] = await this.db.query(
      `WITH live AS (SELECT id FROM platform_connections WHERE id = $1 AND deleted_at IS NULL FOR SHARE),
       ev AS (
         INSERT INTO webhook_events (connection_id, partner_id, event_id, event_type, status, raw_body, headers, errors)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM live
         ON CONFLICT (connection_id, event_id) DO NOTHING
         RETURNING id)
       SELECT (SELECT id FROM ev) AS id, NOT EXISTS (SELECT 1 FROM live) AS gone`,
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
    if (row.gone) throw Problems.notFound('The platform connection');
    return row.id !== null;
  }

  /**
   * Stores an accepted event and creates its payout in one statement: the event row is inserted unless
   * (connection, event id) exists; only then is the payout inserted unless the platform payout exists, with its
   * first timeline row. The event links to the existing payout, or to the new one and owes its route job; an event
   * that disagrees with the existing payout is kept as rejected. When another event creates the same platform
   * payout between this statement's snapshot and its insert, the event's link names a payout that was never made:
   * the foreign key refuses the whole statement, and it runs again, now seeing the winner's payout.
   */
  async acceptWithPayout(
    record: EventRecord,
    eventRowId: string,
    source: PayoutSource,
    instruction: PayoutInstruction,
    stored: 'new' | 'stored' = 'new',
  ): Promise<AcceptOutcome> {
    try {
      return await this.storeAccepted(record, eventRowId, source, instruction, stored);
    } catch (error) {
      if ((error as { constraint?: string }).constraint !== PAYOUT_LINK) throw error;
      return this.storeAccepted(record, eventRowId, source, instruction, stored);
    }
  }

  /**
   * `new`: the event row is inserted. `stored`: the event row `eventRowId` exists as ignored or rejected (ops
   * asked for it to be read again, see WebhookIntakeService.reprocess) and is moved instead; an event no longer
   * ignored or rejected (another reprocess got there first) answers as a duplicate.
   */
  private async storeAccepted(
    record: EventRecord,
    eventRowId: string,
    source: PayoutSource,
    instruction: PayoutInstruction,
    stored: 'new' | 'stored',
  ): Promise<AcceptOutcome> {
    const newPayoutId = randomUUID();
    const payout = payoutRow(source, instruction);
    // What must agree between two events about one platform payout: who is paid, how much, in what currency.
    const [gross, currency, ref] = [11, 12, 13].map((n) => `$${n + payout.values.length}`);
    const outcome = {
      status: `CASE WHEN c.message IS NULL THEN 'accepted' ELSE 'rejected' END`,
      errors: rejectionErrors('c.message'),
      payoutId: `CASE WHEN c.message IS NULL THEN coalesce((SELECT id FROM existing), $8::uuid) END`,
      enqueuedAt: `CASE WHEN c.message IS NULL AND EXISTS (SELECT 1 FROM existing) THEN now() END`,
      // Only while the connection is not deleted, and it stays so until this commits: a deletion waits for this
      // share lock, and one that committed first leaves nothing stored (the platform is answered 404).
      from: `(SELECT (SELECT message FROM conflict) AS message WHERE EXISTS (SELECT 1 FROM live)) c`,
    };
    const event =
      stored === 'new'
        ? `INSERT INTO webhook_events (id, connection_id, partner_id, event_id, event_type, status, raw_body, headers,
                                       errors, payout_id, enqueued_at)
           SELECT $1, $2, $3, $4, $5, ${outcome.status}, $6, $7, ${outcome.errors}, ${outcome.payoutId},
                  ${outcome.enqueuedAt}
           FROM ${outcome.from}
           ON CONFLICT (connection_id, event_id) DO NOTHING
           RETURNING id, payout_id, errors`
        : `UPDATE webhook_events e
           SET event_type = $5, status = ${outcome.status}, raw_body = $6, headers = $7, errors = ${outcome.errors},
               payout_id = ${outcome.payoutId}, enqueued_at = ${outcome.enqueuedAt}
           FROM ${outcome.from}
           WHERE e.id = $1 AND e.connection_id = $2 AND e.partner_id = $3 AND e.event_id = $4
             AND e.status IN ('ignored', 'rejected')
           RETURNING e.id, e.payout_id, e.errors`;
    const [row] = await this.db.query(
      `WITH live AS (SELECT id FROM platform_connections WHERE id = $2 AND deleted_at IS NULL FOR SHARE),
       existing AS (
         SELECT id, gross, currency, freelancer_ref FROM payouts WHERE connection_id = $2 AND platform_payout_id = $9),
       conflict AS (SELECT ${disagreement('x', '$9', gross, currency, ref)} AS message FROM existing x),
       ev AS (${event}),
       po AS (
         INSERT INTO payouts (id, ${payout.columns})
         SELECT $8::uuid, ${payout.placeholders(11)} FROM ev WHERE NOT EXISTS (SELECT 1 FROM existing)
         ON CONFLICT (connection_id, platform_payout_id) DO NOTHING
         RETURNING id),
       tl AS (
         INSERT INTO payout_timeline (payout_id, status, detail) SELECT id, 'received', $10 FROM po)
       SELECT (SELECT id FROM ev) AS event_row, (SELECT payout_id FROM ev) AS linked, (SELECT id FROM po) AS created,
              (SELECT errors->0->>'message' FROM ev) AS conflict, NOT EXISTS (SELECT 1 FROM live) AS gone`,
      [
        eventRowId,
        record.connectionId,
        record.partnerId,
        record.eventId,
        record.type,
        record.rawBody,
        JSON.stringify(record.headers),
        newPayoutId,
        instruction.platformPayoutId,
        payout.receivedDetail,
        ...payout.values,
        instruction.gross.toFixed(2),
        instruction.currency,
        instruction.freelancerRef,
      ],
    );
    if (row.gone) throw Problems.notFound('The platform connection');
    if (!row.event_row) return { duplicate: true };
    if (row.conflict) return { duplicate: false, conflict: row.conflict };
    return { duplicate: false, conflict: null, payoutId: row.linked, created: row.created !== null };
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

  /** A stored event with its connection, as ops's reprocess reads it; null when there is none. */
  async findStored(id: string): Promise<StoredEvent | null> {
    const rows = await this.db.query(
      `SELECT e.id, e.connection_id, e.partner_id, e.event_id, e.status, e.raw_body, e.headers,
              c.platform, c.scheme, c.deleted_at IS NOT NULL AS connection_deleted
       FROM webhook_events e JOIN platform_connections c ON c.id = e.connection_id WHERE e.id = $1`,
      [id],
    );
    if (!rows.length) return null;
    const r = rows[0];
    return {
      rowId: r.id,
      status: r.status,
      platform: r.platform,
      scheme: r.scheme,
      connectionDeleted: r.connection_deleted,
      record: {
        connectionId: r.connection_id,
        partnerId: r.partner_id,
        eventId: r.event_id,
        type: null,
        rawBody: r.raw_body,
        headers: r.headers,
      },
    };
  }

  /** Records what reading an ignored or rejected event again made of it, when it still makes no payout. */
  async restateUnrouted(
    rowId: string,
    status: 'rejected' | 'ignored',
    type: string | null,
    errors: FieldError[] | null,
  ): Promise<void> {
    await this.db.query(
      `UPDATE webhook_events SET status = $2, event_type = $3, errors = $4
       WHERE id = $1 AND status IN ('ignored', 'rejected')`,
      [rowId, status, type, errors === null ? null : JSON.stringify(errors)],
    );
  }

  async get(id: string): Promise<WebhookEventDto> {
    const rows: EventRow[] = await this.db.query(`${EVENT_VIEW} WHERE e.id = $1`, [id]);
    return toDto(rows[0]);
  }

  /**
   * Ops view: newest first, by the status each event shows (`toDto`): `unmatched` are accepted events whose payout
   * found no freelancer, and `accepted` the others.
   */
  async list(query: EventQuery): Promise<WebhookEventPageDto> {
    const params: unknown[] = [];
    let where = 'TRUE';
    if (query.status === 'unmatched') {
      where = `e.status = 'accepted' AND p.status = 'unmatched'`;
    } else if (query.status === 'accepted') {
      where = `e.status = 'accepted' AND p.status IS DISTINCT FROM 'unmatched'`;
    } else if (query.status) {
      params.push(query.status);
      where = `e.status = $${params.length}`;
    }
    const rows: EventRow[] = await this.db.query(
      `${EVENT_VIEW} WHERE ${where}${pageClause(query, params, 'e')}`,
      params,
    );
    return toPage(rows, query, toDto);
  }
}

/**
 * The event as ops see it. Its status says what it needs of a person: an accepted event whose payout found no
 * freelancer for its freelancerRef shows `unmatched` (the filter the contract names) until a retry matches it.
 */
function toDto(row: EventRow): WebhookEventDto {
  return {
    id: row.id,
    connectionId: row.connection_id,
    partnerId: row.partner_id,
    eventId: row.event_id,
    type: row.event_type,
    status: row.status === 'accepted' && row.payout_status === 'unmatched' ? 'unmatched' : row.status,
    errors: row.errors,
    payoutId: row.payout_id,
    payoutStatus: row.payout_status,
    rawBody: row.raw_body.toString('utf8'),
    headers: row.headers,
    receivedAt: row.created_at.toISOString(),
  };
}
