import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Counting the attempts in flight per partner as well as per endpoint: a partner with several hanging endpoints
 * holds no more workers than its own cap.
 */
export class DeliveryInFlightPerPartner1763900018000 implements MigrationInterface {
  name = 'DeliveryInFlightPerPartner1763900018000';
  /** The index is built concurrently, which cannot run in a transaction: deliveries go on being written. */
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // A build cut short leaves an invalid index behind: it is dropped, so running again builds it afresh. Dropped
    // concurrently too: a plain DROP INDEX would lock the deliveries against every write while it waits.
    const invalid = await q.query(
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relname = 'webhook_deliveries_partner_in_flight_idx' AND NOT i.indisvalid`,
    );
    if (invalid.length)
      await q.query(`DROP INDEX CONCURRENTLY IF EXISTS webhook_deliveries_partner_in_flight_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_deliveries_partner_in_flight_idx
       ON webhook_deliveries (partner_id, in_flight_until) WHERE in_flight_until IS NOT NULL`,
    );
  }

  /** A revert runs in a transaction (TypeORM's revert always opens one), so the index is dropped plainly. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS webhook_deliveries_partner_in_flight_idx`);
  }
}
