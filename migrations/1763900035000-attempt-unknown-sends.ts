import { MigrationInterface, QueryRunner } from 'typeorm';
import { withLockTimeout } from './lock-timeout';

/**
 * How many sends of an attempt came back unknown (no answer within SEND_TIMEOUT_MS). A provider that never answers
 * one payout (a key or a beneficiary it hangs on) does not open its breaker while its other payouts go through, so
 * the attempt counts its own: past a few, it fails over once no send of it can still land, like an attempt refused
 * by an open breaker. A constant default and no CHECK add the column without reading or rewriting the table (a
 * CHECK would scan every row under the exclusive lock); it is added under a lock timeout. Can run again.
 */
export class AttemptUnknownSends1763900035000 implements MigrationInterface {
  name = 'AttemptUnknownSends1763900035000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await withLockTimeout(q, [
      `ALTER TABLE payout_attempts ADD COLUMN IF NOT EXISTS unknown_sends integer NOT NULL DEFAULT 0`,
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    await withLockTimeout(q, [`ALTER TABLE payout_attempts DROP COLUMN IF EXISTS unknown_sends`]);
  }
}
