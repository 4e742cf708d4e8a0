import { Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import { DataSource, EntityManager } from 'typeorm';
import { pageClause, PageQuery, toPage, Page } from '../../../common/pagination';
import { MoneyDecimal } from '../../../money/money';
import { SendRequest } from '../provider-connector';
import { SandboxTransferState, transferStateAt } from './sandbox-behaviour';

/** A transfer in a sandbox provider's books, with its state as of the moment it was read. */
export interface SandboxTransfer {
  id: string;
  providerId: string;
  idempotencyKey: string;
  payoutId: string;
  attemptId: string;
  routeId: string;
  amount: Decimal;
  currency: 'USD';
  beneficiaryName: string;
  beneficiaryIban: string;
  beneficiaryInstitution: string;
  accountKind: 'bank_fcy' | 'fintech_usd';
  state: SandboxTransferState;
  acceptedAt: Date;
  settlesAt: Date;
  returnsAt: Date | null;
  returnReason: string | null;
  createdAt: Date;
}

/** The money that reached the sandbox providers, by where it is now. Amounts are exact. */
export interface SandboxMovedTotals {
  transfers: number;
  /** Everything accepted, whatever happened after. */
  accepted: Decimal;
  processing: Decimal;
  settled: Decimal;
  returned: Decimal;
}

export interface SandboxTransferFilter {
  providerId?: string;
  payoutId?: string;
}

interface TransferRow {
  id: string;
  provider_id: string;
  idempotency_key: string;
  payout_id: string;
  attempt_id: string;
  route_id: string;
  amount: string;
  currency: 'USD';
  beneficiary_name: string;
  beneficiary_iban: string;
  beneficiary_institution: string;
  account_kind: 'bank_fcy' | 'fintech_usd';
  state: SandboxTransferState;
  accepted_at: Date;
  settles_at: Date;
  returns_at: Date | null;
  return_reason: string | null;
  created_at: Date;
}

/**
 * The sandbox providers' books. One row per (provider, idempotency key): the unique key is what makes a
 * repeated send return the same transfer instead of moving the money twice. States move forward lazily:
 * whoever reads a transfer after its settlement or return time records it with a conditional UPDATE.
 */
@Injectable()
export class SandboxTransfersService {
  constructor(private readonly db: DataSource) {}

  async find(
    providerId: string,
    idempotencyKey: string,
    manager: EntityManager = this.db.manager,
  ): Promise<SandboxTransfer | null> {
    const rows: TransferRow[] = await manager.query(
      `SELECT * FROM sandbox_transfers WHERE provider_id = $1 AND idempotency_key = $2`,
      [providerId, idempotencyKey],
    );
    return rows.length ? toTransfer(rows[0]) : null;
  }

  /**
   * Runs one send of a key in a transaction that first counts the call (1 for the first). The counter row
   * stays locked until the end, so sends of one key are decided one after another, as a provider's
   * idempotency lock would: a racing duplicate sees the transfer the first one made instead of drawing a
   * failure for a key that was in fact accepted.
   */
  async serialized<T>(
    providerId: string,
    idempotencyKey: string,
    work: (tx: EntityManager, call: number) => Promise<T>,
  ): Promise<T> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query(
        `INSERT INTO sandbox_send_calls AS c (provider_id, idempotency_key, calls) VALUES ($1, $2, 1)
         ON CONFLICT (provider_id, idempotency_key) DO UPDATE SET calls = c.calls + 1
         RETURNING calls`,
        [providerId, idempotencyKey],
      );
      return work(tx, row.calls);
    });
  }

  /**
   * Records an accepted transfer, or finds the one this key already made: INSERT … ON CONFLICT DO NOTHING,
   * so two sends racing with one key still make one transfer.
   */
  async createOnce(
    providerId: string,
    request: SendRequest,
    times: { acceptedAt: Date; settlesAt: Date; returnsAt: Date | null; returnReason: string | null },
    manager: EntityManager = this.db.manager,
  ): Promise<SandboxTransfer> {
    const inserted: TransferRow[] = await manager.query(
      `INSERT INTO sandbox_transfers (provider_id, idempotency_key, payout_id, attempt_id, route_id, amount, currency,
         beneficiary_name, beneficiary_iban, beneficiary_institution, account_kind, accepted_at, settles_at,
         returns_at, return_reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (provider_id, idempotency_key) DO NOTHING
       RETURNING *`,
      [
        providerId,
        request.idempotencyKey,
        request.payoutId,
        request.attemptId,
        request.routeId,
        request.amount.toFixed(2),
        request.currency,
        request.beneficiary.name,
        request.beneficiary.iban,
        request.beneficiary.institution,
        request.beneficiary.accountKind,
        times.acceptedAt,
        times.settlesAt,
        times.returnsAt,
        times.returnReason,
      ],
    );
    if (inserted.length) return toTransfer(inserted[0]);
    const existing = await this.find(providerId, request.idempotencyKey, manager);
    if (!existing) throw new Error(`Sandbox transfer for key ${request.idempotencyKey} vanished`);
    return existing;
  }

  /** The transfer as of `now`, recording a settlement or return that has become due. */
  async advance(transfer: SandboxTransfer, now: Date): Promise<SandboxTransfer> {
    const due = transferStateAt(transfer, now);
    if (due === transfer.state) return transfer;
    const [moved]: [TransferRow[], number] = await this.db.query(
      `UPDATE sandbox_transfers
       SET state = $3,
           settled_at = settles_at,
           returned_at = CASE WHEN $3 = 'returned' THEN returns_at END
       WHERE id = $1 AND state = $2
       RETURNING *`,
      [transfer.id, transfer.state, due],
    );
    if (moved.length) return toTransfer(moved[0]);
    // Someone else moved it first; what they recorded is at least as far along.
    const fresh = await this.find(transfer.providerId, transfer.idempotencyKey);
    if (!fresh) throw new Error(`Sandbox transfer ${transfer.id} vanished`);
    return { ...fresh, state: transferStateAt(fresh, now) };
  }

  /** Newest first, with each transfer's state as of `now`. */
  async list(filter: SandboxTransferFilter, query: PageQuery, now: Date): Promise<Page<SandboxTransfer>> {
    const params: unknown[] = [];
    const where = this.where(filter, params);
    const rows: TransferRow[] = await this.db.query(
      `SELECT * FROM sandbox_transfers WHERE ${where}${pageClause(query, params)}`,
      params,
    );
    return toPage(rows, query, (row) => {
      const transfer = toTransfer(row);
      return { ...transfer, state: transferStateAt(transfer, now) };
    });
  }

  /**
   * One page of a provider's statement: its transfers accepted in [from, to), oldest first, each in its state as of
   * `now`. The cursor is the last row's acceptance time in whole microseconds (exact, as Postgres keeps it) and
   * its id, so a page never skips or repeats a row.
   */
  async statement(
    providerId: string,
    window: { from: Date; to: Date },
    cursor: string | null,
    limit: number,
    now: Date,
  ): Promise<{ transfers: SandboxTransfer[]; next: string | null }> {
    const after = cursor === null ? null : decodeStatementCursor(cursor);
    const rows: (TransferRow & { accepted_us: string })[] = await this.db.query(
      `SELECT *, (extract(epoch FROM accepted_at) * 1000000)::bigint::text AS accepted_us
       FROM sandbox_transfers
       WHERE provider_id = $1 AND accepted_at >= $2 AND accepted_at < $3
         AND ($4::bigint IS NULL
              OR (accepted_at, id) > (timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::uuid))
       ORDER BY accepted_at, id
       LIMIT $6`,
      [providerId, window.from, window.to, after?.acceptedUs ?? null, after?.id ?? null, limit],
    );
    const transfers = rows.map((row) => {
      const transfer = toTransfer(row);
      return { ...transfer, state: transferStateAt(transfer, now) };
    });
    const last = rows[rows.length - 1];
    return {
      transfers,
      next:
        rows.length === limit
          ? Buffer.from(JSON.stringify([last.accepted_us, last.id])).toString('base64url')
          : null,
    };
  }

  /**
   * "The money actually moved", for tests and ops: totals over the sandbox books as of `now`, computed from
   * the settlement and return times, so they do not depend on anyone having read the transfers first.
   */
  async movedTotals(now: Date, filter: SandboxTransferFilter = {}): Promise<SandboxMovedTotals> {
    const params: unknown[] = [now];
    const where = this.where(filter, params);
    const [row] = await this.db.query(
      `WITH t AS (
         SELECT amount,
                CASE WHEN state = 'returned' OR returns_at <= $1 THEN 'returned'
                     WHEN state = 'settled' OR settles_at <= $1 THEN 'settled'
                     ELSE 'processing' END AS now_state
         FROM sandbox_transfers WHERE ${where}
       )
       SELECT count(*)::int AS transfers,
              COALESCE(sum(amount), 0)::text AS accepted,
              COALESCE(sum(amount) FILTER (WHERE now_state = 'processing'), 0)::text AS processing,
              COALESCE(sum(amount) FILTER (WHERE now_state = 'settled'), 0)::text AS settled,
              COALESCE(sum(amount) FILTER (WHERE now_state = 'returned'), 0)::text AS returned
       FROM t`,
      params,
    );
    return {
      transfers: row.transfers,
      accepted: new MoneyDecimal(row.accepted),
      processing: new MoneyDecimal(row.processing),
      settled: new MoneyDecimal(row.settled),
      returned: new MoneyDecimal(row.returned),
    };
  }

  private where(filter: SandboxTransferFilter, params: unknown[]): string {
    const conditions = ['true'];
    if (filter.providerId !== undefined) {
      params.push(filter.providerId);
      conditions.push(`provider_id = $${params.length}`);
    }
    if (filter.payoutId !== undefined) {
      params.push(filter.payoutId);
      conditions.push(`payout_id = $${params.length}`);
    }
    return conditions.join(' AND ');
  }
}

/** A cursor `statement` wrote: only ever handed back by the reconciliation that read the page before. */
function decodeStatementCursor(cursor: string): { acceptedUs: string; id: string } {
  const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (
    !Array.isArray(parsed) ||
    typeof parsed[0] !== 'string' ||
    !/^\d{1,19}$/.test(parsed[0]) ||
    typeof parsed[1] !== 'string'
  ) {
    throw new Error(`not a sandbox statement cursor: ${cursor}`);
  }
  return { acceptedUs: parsed[0], id: parsed[1] };
}

function toTransfer(row: TransferRow): SandboxTransfer {
  return {
    id: row.id,
    providerId: row.provider_id,
    idempotencyKey: row.idempotency_key,
    payoutId: row.payout_id,
    attemptId: row.attempt_id,
    routeId: row.route_id,
    amount: new MoneyDecimal(row.amount),
    currency: row.currency,
    beneficiaryName: row.beneficiary_name,
    beneficiaryIban: row.beneficiary_iban,
    beneficiaryInstitution: row.beneficiary_institution,
    accountKind: row.account_kind,
    state: row.state,
    acceptedAt: row.accepted_at,
    settlesAt: row.settles_at,
    returnsAt: row.returns_at,
    returnReason: row.return_reason,
    createdAt: row.created_at,
  };
}
