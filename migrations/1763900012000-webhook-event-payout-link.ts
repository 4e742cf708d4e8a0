import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An accepted event's payout link must name a payout that exists. The intake statement links a new event to the
 * payout it creates in the same statement; when another event created that platform payout first, the statement
 * fails on this key instead of committing a link to nothing, and intake runs it again against the winner's payout.
 */
export class WebhookEventPayoutLink1763900012000 implements MigrationInterface {
  name = 'WebhookEventPayoutLink1763900012000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_payout_fk
       FOREIGN KEY (payout_id) REFERENCES payouts(id) NOT VALID`,
    );
    await q.query(`ALTER TABLE webhook_events VALIDATE CONSTRAINT webhook_events_payout_fk`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_payout_fk`);
  }
}
