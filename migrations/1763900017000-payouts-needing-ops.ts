import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ops list the payouts that need a person (`GET /v1/ops/payouts?status=failed`, unmatched, returned) across
 * partners, newest first. Only those rows are indexed: a payout enters the index when it lands in one of them.
 */
export class PayoutsNeedingOps1763900017000 implements MigrationInterface {
  name = 'PayoutsNeedingOps1763900017000';
  /** Built concurrently, which cannot run in a transaction: payouts go on being written. */
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // A build cut short leaves an invalid index behind: it is dropped, so running again builds it afresh. Dropped
    // concurrently too: a plain DROP INDEX would lock payouts against every write while it waits.
    const invalid = await q.query(
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relname = 'payouts_needing_ops_idx' AND NOT i.indisvalid`,
    );
    if (invalid.length) await q.query(`DROP INDEX CONCURRENTLY IF EXISTS payouts_needing_ops_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS payouts_needing_ops_idx
       ON payouts (status, created_at, id) WHERE status IN ('failed', 'unmatched', 'returned')`,
    );
  }

  /** A revert runs in a transaction (TypeORM's revert always opens one), so the index is dropped plainly. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS payouts_needing_ops_idx`);
  }
}
