import { MigrationInterface, QueryRunner } from 'typeorm';
import { withLockTimeout } from './lock-timeout';

/**
 * A partner may delete a platform connection (it stopped using the platform, or made one by mistake):
 * `deleted_at` keeps the row, which its events and payouts refer to, while webhooks to it answer 404. A column
 * without a default needs no rewrite; it is added under a lock timeout (withLockTimeout). Can run again.
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
    await q.query(`ALTER TABLE platform_connections DROP COLUMN IF EXISTS deleted_at`);
  }
}
