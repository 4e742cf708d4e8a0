import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * Reconciliation reads a provider's transfers of a time window on both sides: the sandbox provider's statement
 * (its transfers by acceptance time) and our attempts sent to that provider (by creation time).
 */
export class ReconciliationIndexes1763900032000 implements MigrationInterface {
  name = 'ReconciliationIndexes1763900032000';
  /** Built concurrently, which cannot run in a transaction: attempts and transfers go on being written. */
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      q,
      'sandbox_transfers_statement_idx',
      'sandbox_transfers (provider_id, accepted_at, id)',
    );
    await createIndexConcurrently(
      q,
      'payout_attempts_provider_created_idx',
      'payout_attempts (provider, created_at)',
    );
  }

  /** A revert runs in a transaction (TypeORM's revert always opens one), so the indexes are dropped plainly. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS payout_attempts_provider_created_idx`);
    await q.query(`DROP INDEX IF EXISTS sandbox_transfers_statement_idx`);
  }
}
