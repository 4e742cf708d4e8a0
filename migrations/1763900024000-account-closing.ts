import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';
import { withLockTimeout } from './lock-timeout';

/**
 * A freelancer's dollar account can be closed (the freelancer left that bank): `closed_at` keeps the row, which
 * routed payouts and their invoices refer to, while it leaves the freelancer's accounts. A closed account is
 * never the default, and an open account's IBAN is the freelancer's once.
 *
 * The column has no default, so adding it rewrites nothing; the check is added NOT VALID and validated after,
 * which scans the table without blocking writes; the unique index is built concurrently (a freelancer holding
 * one IBAN twice makes it fail, to be resolved by hand). Can run again. Going down refuses while an account is
 * closed: dropping the column would give it back to its freelancer.
 */
export class AccountClosing1763900024000 implements MigrationInterface {
  name = 'AccountClosing1763900024000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await withLockTimeout(q, [
      `ALTER TABLE dollar_accounts ADD COLUMN IF NOT EXISTS closed_at timestamptz`,
      `ALTER TABLE dollar_accounts DROP CONSTRAINT IF EXISTS dollar_accounts_closed_not_default`,
      `ALTER TABLE dollar_accounts ADD CONSTRAINT dollar_accounts_closed_not_default
         CHECK (closed_at IS NULL OR NOT is_default) NOT VALID`,
      `ALTER TABLE dollar_accounts VALIDATE CONSTRAINT dollar_accounts_closed_not_default`,
    ]);
    await createIndexConcurrently(
      q,
      'dollar_accounts_open_iban_key',
      'dollar_accounts (freelancer_id, iban) WHERE closed_at IS NULL',
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const [{ n }] = await q.query(
      `SELECT count(*)::int AS n FROM dollar_accounts WHERE closed_at IS NOT NULL`,
    );
    if (n > 0) throw new Error(`${n} dollar account(s) are closed; going down would open them again`);
    await q.query(`DROP INDEX IF EXISTS dollar_accounts_open_iban_key`);
    await q.query(`ALTER TABLE dollar_accounts DROP CONSTRAINT IF EXISTS dollar_accounts_closed_not_default`);
    await q.query(`ALTER TABLE dollar_accounts DROP COLUMN IF EXISTS closed_at`);
  }
}
