import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An accepted event's payout link must name a payout that exists. The intake statement links a new event to the
 * payout it creates in the same statement; when another event created that platform payout first, the statement
 * fails on this key instead of committing a link to nothing, and intake runs it again against the winner's payout.
 *
 * Outside a transaction, so that validating the existing rows (a scan of every stored webhook) holds only a lock
 * that lets intake and the pipeline go on writing; each step can run again if the migration is cut short. Before
 * this key, a crash between intake's two statements of a lost race could leave a link to a payout never made:
 * such a link names nothing, and is cleared (the platform payout's own payout was made by the winning event).
 */
export class WebhookEventPayoutLink1763900012000 implements MigrationInterface {
  name = 'WebhookEventPayoutLink1763900012000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE webhook_events e SET payout_id = NULL
       WHERE payout_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.id = e.payout_id)`,
    );
    await q.query(`ALTER TABLE webhook_events DROP CONSTRAINT IF EXISTS webhook_events_payout_fk`);
    await q.query(
      `ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_payout_fk
       FOREIGN KEY (payout_id) REFERENCES payouts(id) NOT VALID`,
    );
    await q.query(`ALTER TABLE webhook_events VALIDATE CONSTRAINT webhook_events_payout_fk`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_events DROP CONSTRAINT IF EXISTS webhook_events_payout_fk`);
  }
}
