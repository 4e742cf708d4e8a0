import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Until when a claimed delivery attempt may still be on its way to the partner's endpoint (cleared when it is
 * recorded; a worker that died leaves it to expire). Counting these per endpoint caps how many workers one slow
 * or hanging endpoint can hold, so it cannot delay every other partner's webhooks.
 */
export class DeliveryInFlight1763900016000 implements MigrationInterface {
  name = 'DeliveryInFlight1763900016000';
  /** The index is built concurrently, which cannot run in a transaction: deliveries go on being written. */
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS in_flight_until timestamptz`);
    // A build cut short leaves an invalid index behind: it is dropped, so running again builds it afresh.
    await q.query(
      `DO $$ BEGIN
         IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE c.relname = 'webhook_deliveries_in_flight_idx' AND NOT i.indisvalid) THEN
           DROP INDEX webhook_deliveries_in_flight_idx;
         END IF;
       END $$`,
    );
    await q.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_deliveries_in_flight_idx
       ON webhook_deliveries (endpoint_id, in_flight_until) WHERE in_flight_until IS NOT NULL`,
    );
  }

  /** A revert runs in a transaction (TypeORM's revert always opens one), so the index is dropped plainly. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS webhook_deliveries_in_flight_idx`);
    await q.query(`ALTER TABLE webhook_deliveries DROP COLUMN IF EXISTS in_flight_until`);
  }
}
