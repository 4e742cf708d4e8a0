import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * A freelancer's proceeds realized in a month, read at every realization: what the bank keeps in the ESFCA is
 * the month's allowance (the higher of USD 5,000 or half), so each realization's share depends on the ones before.
 */
export class InvoicesRealizedPerFreelancer1763900019000 implements MigrationInterface {
  name = 'InvoicesRealizedPerFreelancer1763900019000';
  /** The index is built concurrently, which cannot run in a transaction: invoices go on being written. */
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      q,
      'invoices_realized_per_freelancer_idx',
      'invoices (freelancer_id, realized_at) INCLUDE (net_realized, export_status) WHERE net_realized IS NOT NULL',
    );
  }

  /** A revert runs in a transaction (TypeORM's revert always opens one), so the index is dropped plainly. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS invoices_realized_per_freelancer_idx`);
  }
}
