import { MigrationInterface, QueryRunner } from 'typeorm';
import { withLockTimeout } from './lock-timeout';

/**
 * A partner may delete a platform connection (it stopped using the platform, or made one by mistake):
 * `deleted_at` keeps the row, which its events and payouts refer to, while webhooks to it answer 404. A column
 * without a default needs no rewrite; it is added under a lock timeout (withLockTimeout). Can run again. Going
 * down refuses while a connection is deleted: dropping the column would make it take webhooks again.
 */
export class ConnectionDeleting1763900025000 implements MigrationInterface {
  name = 'ConnectionDeleting1763900025000';
  transaction = false;

  up(q: QueryRunner): Promise<void> {
    return withLockTimeout(q, [
      `ALTER TABLE platform_connections ADD COLUMN IF NOT EXISTS deleted_at timestamptz`,
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    const [{ n }] = await q.query(
      `SELECT count(*)::int AS n FROM platform_connections WHERE deleted_at IS NOT NULL`,
    );
    if (n > 0)
      throw new Error(`${n} platform connection(s) are deleted; going down would take their webhooks again`);
    await q.query(`ALTER TABLE platform_connections DROP COLUMN IF EXISTS deleted_at`);
  }
}
