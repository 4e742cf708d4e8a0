import { MigrationInterface, QueryRunner } from 'typeorm';
import { withLockTimeout } from './lock-timeout';

/**
 * A partner may ask for a delivery to be sent again (after its endpoint was down past the retries, or to get an
 * event it lost): `attempt_limit` makes a redelivery one more attempt rather than a new round of retries (null:
 * the retry policy's limit). A column without a default needs no rewrite; it is added under a lock timeout
 * (withLockTimeout). Can run again.
 */
export class DeliveryRedelivery1763900023000 implements MigrationInterface {
  name = 'DeliveryRedelivery1763900023000';
  transaction = false;

  up(q: QueryRunner): Promise<void> {
    return withLockTimeout(q, [`ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS attempt_limit int`]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries DROP COLUMN IF EXISTS attempt_limit`);
  }
}
