import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The balance check of an entry ran once for the entry and once more for each of its lines, all at the same
 * commit and all over the same lines. A line of an entry written in the same transaction is now left to the
 * entry's own check; a line added to an entry of an earlier transaction is still checked on its own. A row's
 * xmin is the transaction that wrote it (a subtransaction's own id under a savepoint, where the line is checked
 * in full as before).
 */
export class LedgerCheckOncePerEntry1763900007000 implements MigrationInterface {
  name = 'LedgerCheckOncePerEntry1763900007000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_check_line() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM ledger_entries
                        WHERE id = NEW.entry_id AND xmin = pg_current_xact_id()::xid) THEN
          PERFORM ledger_assert_balanced(NEW.entry_id);
        END IF;
        RETURN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_check_line() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM ledger_assert_balanced(NEW.entry_id);
        RETURN NULL;
      END $$`);
  }
}
