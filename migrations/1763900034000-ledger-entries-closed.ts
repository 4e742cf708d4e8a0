import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';
import { inShortTransaction, withLockTimeout } from './lock-timeout';

/**
 * A committed journal entry is closed: its lines are those it was committed with. Until now a line could be added
 * to an old entry later, as long as the entry still balanced, which changed an entry an auditor had already read
 * (and the reversal built from it). Each entry now records the transaction that created it (`created_xid`, the
 * top-level transaction even inside a savepoint) and a statement trigger refuses lines for an entry of another
 * transaction; entries booked before this migration have none and take no line either.
 *
 * `seq` (posting order, which paging and the booking code read as unique) becomes unique as well: an identity
 * column alone still takes a value given with OVERRIDING SYSTEM VALUE.
 *
 * The column has no stored default for the rows already there (no rewrite) and is added under a lock timeout; the
 * index is built without locking writes. Can run again.
 */
export class LedgerEntriesClosed1763900034000 implements MigrationInterface {
  name = 'LedgerEntriesClosed1763900034000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await withLockTimeout(q, [
      `ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS created_xid xid8`,
      `ALTER TABLE ledger_entries ALTER COLUMN created_xid SET DEFAULT pg_current_xact_id()`,
    ]);
    await inShortTransaction(q, async () => {
      await q.query(`
        CREATE OR REPLACE FUNCTION ledger_refuse_lines_of_closed_entries() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          closed uuid;
        BEGIN
          SELECT e.id INTO closed
            FROM (SELECT DISTINCT entry_id FROM added) a JOIN ledger_entries e ON e.id = a.entry_id
           WHERE e.created_xid IS DISTINCT FROM pg_current_xact_id()
           LIMIT 1;
          IF closed IS NOT NULL THEN
            RAISE EXCEPTION 'ledger entry % is closed: lines are added only in the transaction that books it', closed
              USING ERRCODE = 'restrict_violation';
          END IF;
          RETURN NULL;
        END $$`);
      await q.query(`DROP TRIGGER IF EXISTS ledger_lines_of_open_entries ON ledger_lines`);
      await q.query(`
        CREATE TRIGGER ledger_lines_of_open_entries AFTER INSERT ON ledger_lines
          REFERENCING NEW TABLE AS added
          FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_lines_of_closed_entries()`);
    });
    await createIndexConcurrently(q, 'ledger_entries_seq_key', 'ledger_entries (seq)', true);
  }

  async down(q: QueryRunner): Promise<void> {
    // migration:revert (`npm run db:revert`) runs `down` in a transaction whatever `transaction` says, and
    // Postgres refuses CONCURRENTLY inside one: there the index is dropped with a plain lock.
    await q.query(
      `DROP INDEX ${q.isTransactionActive ? '' : 'CONCURRENTLY '}IF EXISTS ledger_entries_seq_key`,
    );
    await q.query(`DROP TRIGGER IF EXISTS ledger_lines_of_open_entries ON ledger_lines`);
    await q.query(`DROP FUNCTION IF EXISTS ledger_refuse_lines_of_closed_entries()`);
    await q.query(`ALTER TABLE ledger_entries DROP COLUMN IF EXISTS created_xid`);
  }
}
