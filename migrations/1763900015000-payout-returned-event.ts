import { MigrationInterface, QueryRunner } from 'typeorm';

const TYPES = `'payout.settled', 'payout.failed', 'payout.returned', 'invoice.issued', 'invoice.export_status_changed'`;

const TRIGGER = (statuses: string) => `
  CREATE TRIGGER payout_timeline_partner_event AFTER INSERT ON payout_timeline
    FOR EACH ROW WHEN (NEW.status IN (${statuses}))
    EXECUTE FUNCTION partner_event_from_timeline()`;

/**
 * A payout the provider sent back after paying it tells its partner so, as `payout.returned` (the timeline row
 * `returned` makes the event, as `settled` and `failed` do): a partner that credited its freelancer on
 * `payout.settled` must hear that the money is gone. The trigger is swapped in one transaction, so no timeline row
 * commits between the two without its event.
 */
export class PayoutReturnedEvent1763900015000 implements MigrationInterface {
  name = 'PayoutReturnedEvent1763900015000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE partner_events DROP CONSTRAINT partner_events_type_check`);
    await q.query(
      `ALTER TABLE partner_events ADD CONSTRAINT partner_events_type_check CHECK (type IN (${TYPES}))`,
    );
    await q.query(`DROP TRIGGER payout_timeline_partner_event ON payout_timeline`);
    await q.query(TRIGGER(`'settled', 'failed', 'returned'`));
  }

  /** Only the trigger goes back: events already sent as `payout.returned` stay on record, so their type stays allowed. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER payout_timeline_partner_event ON payout_timeline`);
    await q.query(TRIGGER(`'settled', 'failed'`));
  }
}
