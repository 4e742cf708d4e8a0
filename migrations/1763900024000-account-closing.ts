import { MigrationInterface, QueryRunner } from 'typeorm';
import { withLockTimeout } from './lock-timeout';

/**
 * A freelancer's dollar account can be closed (the freelancer left that bank): `closed_at` keeps the row, which
 * routed payouts and their invoices refer to, while it leaves the freelancer's accounts. A closed account is
 * never the default. The column has no default and the table is small, so neither statement rewrites it; both
 * run under a lock timeout (withLockTimeout). Can run again.
 */
export class AccountClosing1763900024000 implements MigrationInterface {
  name = 'AccountClosing1763900024000';
  transaction = false;

  up(q: QueryRunner): Promise<void> {
    return withLockTimeout(q, [
      `ALTER TABLE dollar_accounts ADD COLUMN IF NOT EXISTS closed_at timestamptz`,
      `ALTER TABLE dollar_accounts DROP CONSTRAINT IF EXISTS dollar_accounts_closed_not_default`,
      `ALTER TABLE dollar_accounts ADD CONSTRAINT dollar_accounts_closed_not_default
         CHECK (closed_at IS NULL OR NOT is_default)`,
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE dollar_accounts DROP CONSTRAINT IF EXISTS dollar_accounts_closed_not_default`);
    await q.query(`ALTER TABLE dollar_accounts DROP COLUMN IF EXISTS closed_at`);
  }
}
