import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a send of an attempt last started. An attempt that was ever sent may reach the provider late (a slow
 * answer, a worker that died mid-call), so the pipeline fails over from it only once the provider has no record
 * of its key and that send can no longer land. Nullable with no default: adding it rewrites nothing.
 */
export class AttemptLastSend1763900014000 implements MigrationInterface {
  name = 'AttemptLastSend1763900014000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payout_attempts ADD COLUMN IF NOT EXISTS last_send_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payout_attempts DROP COLUMN IF EXISTS last_send_at`);
  }
}
