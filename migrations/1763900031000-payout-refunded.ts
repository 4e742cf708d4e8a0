import { MigrationInterface, QueryRunner } from 'typeorm';
import { inShortTransaction } from './lock-timeout';
import { partnerEventTrigger, widenPartnerEvents } from './partner-event-trigger';

const STATUSES = `'received', 'unmatched', 'routed', 'sending', 'settled', 'failed', 'returned'`;
const TYPES = `'payout.settled', 'payout.failed', 'payout.returned', 'payout.unmatched', 'invoice.issued', 'invoice.export_status_changed'`;

/**
 * Money a provider sent back after paying it can be given back to the platform it came from: ops record that
 * with `POST /v1/ops/payouts/{id}/refund`, which moves the payout from `returned` to `refunded` and books it.
 * Partners that ask for it hear of it as `payout.refunded`.
 *
 * The status rule is widened as the partner event types are: dropped and added unchecked in one short
 * transaction, then checked against the rows already there under a lock that lets the pipeline go on writing.
 * Can run again.
 */
export class PayoutRefunded1763900031000 implements MigrationInterface {
  name = 'PayoutRefunded1763900031000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // One short transaction: a lock timeout between the two statements must not leave payouts with no rule.
    await inShortTransaction(q, async () => {
      await q.query(`ALTER TABLE payouts DROP CONSTRAINT IF EXISTS payouts_status_check`);
      await q.query(
        `ALTER TABLE payouts ADD CONSTRAINT payouts_status_check CHECK (status IN (${STATUSES}, 'refunded')) NOT VALID`,
      );
    });
    await q.query(`ALTER TABLE payouts VALIDATE CONSTRAINT payouts_status_check`);
    await widenPartnerEvents(q, {
      types: `${TYPES}, 'payout.refunded'`,
      statuses: `'settled', 'failed', 'returned', 'unmatched', 'refunded'`,
    });
  }

  /**
   * Refused while a payout is refunded: the narrower rule cannot hold for it. Events already sent as
   * `payout.refunded` stay on record, so their type stays allowed; only the trigger goes back.
   */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`SET LOCAL lock_timeout = '5s'`);
    await q.query(`ALTER TABLE payouts DROP CONSTRAINT IF EXISTS payouts_status_check`);
    await q.query(`ALTER TABLE payouts ADD CONSTRAINT payouts_status_check CHECK (status IN (${STATUSES}))`);
    await q.query(`DROP TRIGGER IF EXISTS payout_timeline_partner_event ON payout_timeline`);
    await q.query(partnerEventTrigger(`'settled', 'failed', 'returned', 'unmatched'`));
  }
}
