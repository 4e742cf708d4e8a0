import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * Ops list the payouts that need a person (`GET /v1/ops/payouts?status=failed`, unmatched, returned) across
 * partners, newest first. Only those rows are indexed: a payout enters the index when it lands in one of them.
 */
export class PayoutsNeedingOps1763900017000 implements MigrationInterface {
  name = 'PayoutsNeedingOps1763900017000';
  /** Built concurrently, which cannot run in a transaction: payouts go on being written. */
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      q,
      'payouts_needing_ops_idx',
      "payouts (status, created_at, id) WHERE status IN ('failed', 'unmatched', 'returned')",
    );
  }

  /** A revert runs in a transaction (TypeORM's revert always opens one), so the index is dropped plainly. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS payouts_needing_ops_idx`);
  }
}
