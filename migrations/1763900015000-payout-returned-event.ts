import { MigrationInterface, QueryRunner } from 'typeorm';
import { partnerEventTrigger, widenPartnerEvents } from './partner-event-trigger';

const TYPES = `'payout.settled', 'payout.failed', 'payout.returned', 'invoice.issued', 'invoice.export_status_changed'`;

/**
 * A payout the provider sent back after paying it tells its partner so, as `payout.returned` (the timeline row
 * `returned` makes the event, as `settled` and `failed` do): a partner that credited its freelancer on
 * `payout.settled` must hear that the money is gone.
 *
 * The type rule and the trigger change as widenPartnerEvents says.
 */
export class PayoutReturnedEvent1763900015000 implements MigrationInterface {
  name = 'PayoutReturnedEvent1763900015000';
  transaction = false;

  up(q: QueryRunner): Promise<void> {
    return widenPartnerEvents(q, { types: TYPES, statuses: `'settled', 'failed', 'returned'` });
  }

  /**
   * Only the trigger goes back (in the transaction TypeORM's revert opens): events already sent as
   * `payout.returned` stay on record, so their type stays allowed.
   */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS payout_timeline_partner_event ON payout_timeline`);
    await q.query(partnerEventTrigger(`'settled', 'failed'`));
  }
}
