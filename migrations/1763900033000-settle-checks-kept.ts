import { MigrationInterface, QueryRunner } from 'typeorm';
import { withLockTimeout } from './lock-timeout';

/**
 * A transfer a provider keeps processing (a bank wire takes days) was polled by settle jobs of 30 quick polls
 * each, queued again by the sweeper every stale period once one gave up: about a poll a second for as long as it
 * took, and a failed job in Redis for every 30. Now, once a job's quick polls are used up, the attempt keeps when
 * its next poll is due (`settle_check_at`, every SETTLE_POLL_INTERVAL_MS) and a delayed job asks then; the sweeper
 * queues a poll only once that is overdue. The column has no default (no rewrite) and is added under a lock
 * timeout. Can run again.
 */
export class SettleChecksKept1763900033000 implements MigrationInterface {
  name = 'SettleChecksKept1763900033000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await withLockTimeout(q, [
      `ALTER TABLE payout_attempts ADD COLUMN IF NOT EXISTS settle_check_at timestamptz`,
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payout_attempts DROP COLUMN IF EXISTS settle_check_at`);
  }
}
