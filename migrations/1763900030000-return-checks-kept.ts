import { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';
import { withLockTimeout } from './lock-timeout';

/**
 * The checks of a settled transfer for a return were delayed jobs in Redis only: a Redis that restarted empty
 * lost them, and money a provider sent back was never booked. Now the attempt keeps its next check
 * (`return_check`, -1 once the window is covered) and when it is due (`return_check_at`), and the sweeper queues
 * a check that is overdue. The index holds only settled attempts with a check to come.
 *
 * Attempts settled before keep `return_check` null: the next job of their chain still queued in Redis takes the
 * chain over (whatever RETURN_WINDOW_MS is, and also for attempts an older worker settles during a rolling
 * deploy), so no provider is asked more often than before. A chain Redis already lost stays lost: nothing
 * says where it stood. The columns have no default (no rewrite) and are added under a lock timeout. Can run again.
 */
export class ReturnChecksKept1763900030000 implements MigrationInterface {
  name = 'ReturnChecksKept1763900030000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await withLockTimeout(q, [
      `ALTER TABLE payout_attempts ADD COLUMN IF NOT EXISTS return_check integer,
         ADD COLUMN IF NOT EXISTS return_check_at timestamptz`,
    ]);
    await createIndexConcurrently(
      q,
      'payout_attempts_return_check_due_idx',
      `payout_attempts (return_check_at) WHERE status = 'settled' AND return_check_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS payout_attempts_return_check_due_idx`);
    await q.query(`ALTER TABLE payout_attempts DROP COLUMN IF EXISTS return_check_at`);
    await q.query(`ALTER TABLE payout_attempts DROP COLUMN IF EXISTS return_check`);
  }
}
