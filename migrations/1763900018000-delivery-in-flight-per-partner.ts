import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * Counting the attempts in flight per partner as well as per endpoint: a partner with several hanging endpoints
 * holds no more workers than its own cap.
 */
export class DeliveryInFlightPerPartner1763900018000 implements MigrationInterface {
  name = 'DeliveryInFlightPerPartner1763900018000';
  /** The index is built concurrently, which cannot run in a transaction: deliveries go on being written. */
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      q,
      'webhook_deliveries_partner_in_flight_idx',
      'webhook_deliveries (partner_id, in_flight_until) WHERE in_flight_until IS NOT NULL',
    );
  }

  /** A revert runs in a transaction (TypeORM's revert always opens one), so the index is dropped plainly. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS webhook_deliveries_partner_in_flight_idx`);
  }
}
