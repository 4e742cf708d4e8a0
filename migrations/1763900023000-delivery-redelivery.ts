import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A partner may ask for a delivery to be sent again (after its endpoint was down past the retries, or to get an
 * event it lost): `attempt_limit` makes a redelivery one more attempt rather than a new round of retries (null:
 * the retry policy's limit). A column without a default needs no rewrite; the lock it takes gives up after 5 s
 * rather than queue deliveries behind a long transaction. Can run again.
 */
export class DeliveryRedelivery1763900023000 implements MigrationInterface {
  name = 'DeliveryRedelivery1763900023000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SET lock_timeout = '5s'`);
    try {
      await q.query(`
        ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS attempt_limit int`);
    } finally {
      await q.query(`RESET lock_timeout`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries DROP COLUMN IF EXISTS attempt_limit`);
  }
}
