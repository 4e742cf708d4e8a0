import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a payout booking step reads before it books, in one round trip instead of two: the payout's advisory
 * lock, then its entries and their lines. The function is VOLATILE, so its query takes its snapshot after the
 * lock is granted and sees every booking committed by whoever held the lock before.
 */
export class LedgerPayoutEntriesLocked1763900008000 implements MigrationInterface {
  name = 'LedgerPayoutEntriesLocked1763900008000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION ledger_payout_entries_locked(p_payout uuid)
        RETURNS TABLE (id uuid, seq bigint, idempotency_key text, kind text, payout_id uuid, reverses_entry_id uuid,
                       description text, created_at timestamptz, account text, side text, amount numeric,
                       currency char(3))
        LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('ledger:payout:' || p_payout::text, 0));
        RETURN QUERY
          SELECT e.id, e.seq, e.idempotency_key, e.kind, e.payout_id, e.reverses_entry_id, e.description,
                 e.created_at, l.account, l.side, l.amount, l.currency
            FROM ledger_entries e
           CROSS JOIN LATERAL (SELECT ll.line_no, ll.account, ll.side, ll.amount, ll.currency FROM ledger_lines ll
                                WHERE ll.entry_id = e.id OFFSET 0) l
           WHERE e.payout_id = p_payout
           ORDER BY e.seq, l.line_no;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION ledger_payout_entries_locked(uuid)`);
  }
}
