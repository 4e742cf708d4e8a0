import { Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import { DataSource, EntityManager } from 'typeorm';
import { MoneyDecimal } from '../money/money';
import { Accounts, LedgerError, Side } from './chart';
import { LedgerEntryDto } from './dto/ledger.dto';
import { BookedEntry } from './payout-ledger-state';
import {
  normalizePosting,
  NormalizedLine,
  PostingLine,
  PostingRequest,
  reversalOf,
  sameLines,
} from './posting';

export type { Side } from './chart';
export type { PostingLine, PostingRequest } from './posting';
export type LedgerEntryView = LedgerEntryDto;

export interface PostResult {
  entryId: string;
  /** false when the idempotency key was already booked: nothing new was written. */
  created: boolean;
}

interface EntryRow {
  id: string;
  seq: string;
  idempotency_key: string;
  kind: string;
  payout_id: string | null;
  reverses_entry_id: string | null;
  description: string;
  created_at: Date;
  account: string;
  side: Side;
  amount: string;
  currency: string;
}

type StoredEntry = BookedEntry & { seq: string; description: string; createdAt: Date };

/**
 * One statement books an entry: the entry (skipped when its key exists), any account not seen before
 * (in name order, so concurrent postings never wait on each other in a cycle) and the lines.
 */
const POST_ENTRY = `
  WITH entry AS (
    INSERT INTO ledger_entries (idempotency_key, kind, payout_id, reverses_entry_id, description)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
  ), new_accounts AS (
    INSERT INTO ledger_accounts (name, normal_side)
    SELECT DISTINCT ON (name) name, normal_side FROM unnest($6::text[], $7::text[]) AS a(name, normal_side)
    ORDER BY name
    ON CONFLICT (name) DO NOTHING
  ), lines AS (
    INSERT INTO ledger_lines (entry_id, line_no, account, currency, side, amount)
    SELECT entry.id, l.line_no, l.account, l.currency, l.side, l.amount
      FROM entry,
           unnest($6::text[], $8::text[], $9::text[], $10::numeric[])
             WITH ORDINALITY AS l(account, currency, side, amount, line_no)
  )
  SELECT id FROM entry`;

@Injectable()
export class LedgerService {
  constructor(private readonly db: DataSource) {}

  /**
   * Books a balanced entry inside the caller's transaction (or its own when tx is null). Booking a key
   * again books nothing and answers the first entry; the same key with other lines is a bug and throws.
   */
  async post(tx: EntityManager | null, entry: PostingRequest): Promise<PostResult> {
    const lines = normalizePosting(entry);
    // Without a caller's transaction the one statement is its own transaction: the deferred checks run at
    // its implicit commit, and it costs one round trip instead of three.
    return this.insert(tx ?? this.db.manager, entry, lines);
  }

  /** Books the mirror image of an entry; the database allows one reversal per entry. */
  async reverse(
    tx: EntityManager | null,
    p: { entryId: string; idempotencyKey: string; kind: string; description: string },
  ): Promise<PostResult> {
    const [original] = await this.load(tx ?? this.db.manager, 'e.id = $1', [p.entryId]);
    if (!original) throw new LedgerError(`there is no ledger entry ${p.entryId} to reverse`);
    return this.post(tx, {
      idempotencyKey: p.idempotencyKey,
      kind: p.kind,
      payoutId: original.payoutId ?? undefined,
      description: p.description,
      reversesEntryId: original.id,
      lines: reversalOf(original.lines),
    });
  }

  /**
   * A freelancer's money: settled (credit balance of freelancer_settled), in transit, and returned after settling
   * (held in freelancer_returned until ops send it again or give it back).
   */
  async freelancerBalance(
    freelancerId: string,
  ): Promise<{ currency: 'USD'; settled: Decimal; inTransit: Decimal; returned: Decimal }> {
    const settled = Accounts.freelancerSettled(freelancerId);
    const inTransit = Accounts.freelancerInTransit(freelancerId);
    const returned = Accounts.freelancerReturned(freelancerId);
    const rows: { account: string; balance: string }[] = await this.db.query(
      `SELECT account, sum(CASE WHEN side = 'credit' THEN amount ELSE -amount END)::text AS balance
         FROM ledger_lines WHERE account = ANY($1::text[]) AND currency = 'USD'
        GROUP BY account`,
      [[settled, inTransit, returned]],
    );
    const balance = (account: string) =>
      new MoneyDecimal(rows.find((r) => r.account === account)?.balance ?? '0');
    return {
      currency: 'USD',
      settled: balance(settled),
      inTransit: balance(inTransit),
      returned: balance(returned),
    };
  }

  /**
   * Per currency, the sum of all debit balances and of all credit balances. Read in one statement, so it
   * sees only committed, balanced entries: the two are always equal.
   */
  async trialBalance(): Promise<{ currency: string; debits: Decimal; credits: Decimal }[]> {
    const rows: { currency: string; debits: string; credits: string }[] = await this.db.query(
      `SELECT currency,
              coalesce(sum(balance) FILTER (WHERE balance > 0), 0)::text AS debits,
              coalesce(-sum(balance) FILTER (WHERE balance < 0), 0)::text AS credits
         FROM (SELECT account, currency, sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) AS balance
                 FROM ledger_lines GROUP BY account, currency) balances
        GROUP BY currency ORDER BY currency`,
    );
    return rows.map((r) => ({
      currency: r.currency,
      debits: new MoneyDecimal(r.debits),
      credits: new MoneyDecimal(r.credits),
    }));
  }

  /** Every entry booked for a payout, oldest first, with its lines. */
  async entriesForPayout(payoutId: string): Promise<LedgerEntryView[]> {
    const entries = await this.load(this.db.manager, 'e.payout_id = $1', [payoutId]);
    return entries.map(toView);
  }

  /** A page of a payout's entries after the given sequence number, oldest first. */
  async entryPage(
    payoutId: string,
    afterSeq: string | null,
    limit: number,
  ): Promise<{ entries: LedgerEntryView[]; lastSeq: string | null; more: boolean }> {
    const entries = await this.load(
      this.db.manager,
      `e.id IN (SELECT id FROM ledger_entries WHERE payout_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3)`,
      [payoutId, afterSeq ?? '0', limit + 1],
    );
    const kept = entries.slice(0, limit);
    return {
      entries: kept.map(toView),
      lastSeq: kept.length ? kept[kept.length - 1].seq : null,
      more: entries.length > limit,
    };
  }

  /**
   * For the booking steps of a payout: takes the payout's ledger lock (held to the end of the caller's
   * transaction, so its bookings are serialized), then reads its entries as they stand once the lock is granted.
   */
  async lockAndLoadPayout(tx: EntityManager, payoutId: string): Promise<BookedEntry[]> {
    return toEntries(await tx.query(`SELECT * FROM ledger_payout_entries_locked($1)`, [payoutId]));
  }

  private async insert(
    tx: EntityManager,
    entry: PostingRequest,
    lines: NormalizedLine[],
  ): Promise<PostResult> {
    const rows: { id: string }[] = await tx.query(POST_ENTRY, [
      entry.idempotencyKey,
      entry.kind,
      entry.payoutId ?? null,
      entry.reversesEntryId ?? null,
      entry.description,
      lines.map((l) => l.account),
      lines.map((l) => l.normalSide),
      lines.map((l) => l.currency),
      lines.map((l) => l.side),
      lines.map((l) => l.amount),
    ]);
    if (rows.length) return { entryId: rows[0].id, created: true };
    const [existing] = await this.load(tx, 'e.idempotency_key = $1', [entry.idempotencyKey]);
    if (
      !existing ||
      existing.kind !== entry.kind ||
      existing.payoutId !== (entry.payoutId?.toLowerCase() ?? null) ||
      !sameLines(existing.lines, entry.lines)
    ) {
      throw new LedgerError(`idempotency key "${entry.idempotencyKey}" is already booked with other lines`);
    }
    return { entryId: existing.id, created: false };
  }

  /**
   * The lines are read per entry through the primary key (the OFFSET 0 keeps the planner from turning the
   * lateral read into a join): a hash join over every line of the ledger is what a young table without
   * statistics would otherwise get, and each booking step reads its payout's entries.
   */
  private async load(manager: EntityManager, where: string, params: unknown[]): Promise<StoredEntry[]> {
    const rows: EntryRow[] = await manager.query(
      `SELECT e.id, e.seq, e.idempotency_key, e.kind, e.payout_id, e.reverses_entry_id, e.description, e.created_at,
              l.account, l.side, l.amount, l.currency
         FROM ledger_entries e
        CROSS JOIN LATERAL (SELECT line_no, account, side, amount, currency FROM ledger_lines
                             WHERE entry_id = e.id OFFSET 0) l
        WHERE ${where}
        ORDER BY e.seq, l.line_no`,
      params,
    );
    return toEntries(rows);
  }
}

function toEntries(rows: EntryRow[]): StoredEntry[] {
  const entries: StoredEntry[] = [];
  for (const row of rows) {
    let entry = entries[entries.length - 1];
    if (!entry || entry.id !== row.id) {
      entry = {
        id: row.id,
        seq: row.seq,
        idempotencyKey: row.idempotency_key,
        kind: row.kind,
        payoutId: row.payout_id,
        reversesEntryId: row.reverses_entry_id,
        description: row.description,
        createdAt: row.created_at,
        lines: [],
      };
      entries.push(entry);
    }
    entry.lines.push({
      account: row.account,
      side: row.side,
      amount: new MoneyDecimal(row.amount),
      currency: row.currency as PostingLine['currency'],
    });
  }
  return entries;
}

function toView(entry: StoredEntry): LedgerEntryView {
  return {
    id: entry.id,
    kind: entry.kind,
    payoutId: entry.payoutId,
    reversesEntryId: entry.reversesEntryId,
    description: entry.description,
    createdAt: entry.createdAt.toISOString(),
    lines: entry.lines.map((l) => ({
      account: l.account,
      side: l.side,
      amount: l.amount.toFixed(2),
      currency: l.currency ?? 'USD',
    })),
  };
}
