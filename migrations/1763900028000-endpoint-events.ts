import { MigrationInterface, QueryRunner } from 'typeorm';
import { withLockTimeout } from './lock-timeout';

/**
 * The event types a partner's webhook endpoint asked for (`events` at registration); null for an endpoint that
 * named none, which receives the contract's events and `payout.returned`, as every endpoint did before, and not
 * the types a partner has to ask for (`payout.unmatched`). A column without a default needs no rewrite; it is
 * added under a lock timeout (withLockTimeout). Can run again.
 */
export class EndpointEvents1763900028000 implements MigrationInterface {
  name = 'EndpointEvents1763900028000';
  transaction = false;

  up(q: QueryRunner): Promise<void> {
    return withLockTimeout(q, [`ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS events text[]`]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_endpoints DROP COLUMN IF EXISTS events`);
  }
}
