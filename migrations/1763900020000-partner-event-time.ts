import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A partner event's `createdAt` is when its change was written, not when its transaction began: changes of one
 * payout or one invoice take turns on its row, so written times order them as they happened, which the start of a
 * transaction that waited for that row does not. Partners order the events of one payout or invoice by it.
 */
export class PartnerEventTime1763900020000 implements MigrationInterface {
  name = 'PartnerEventTime1763900020000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE partner_events ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', clock_timestamp())`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE partner_events ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now())`,
    );
  }
}
