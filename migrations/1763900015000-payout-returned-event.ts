import { MigrationInterface, QueryRunner } from 'typeorm';

const TYPES = `'payout.settled', 'payout.failed', 'payout.returned', 'invoice.issued', 'invoice.export_status_changed'`;

const TRIGGER = (statuses: string) => `
  CREATE TRIGGER payout_timeline_partner_event AFTER INSERT ON payout_timeline
    FOR EACH ROW WHEN (NEW.status IN (${statuses}))
    EXECUTE FUNCTION partner_event_from_timeline()`;

/**
 * A payout the provider sent back after paying it tells its partner so, as `payout.returned` (the timeline row
 * `returned` makes the event, as `settled` and `failed` do): a partner that credited its freelancer on
 * `payout.settled` must hear that the money is gone.
 *
 * The type rule and the trigger change in one short transaction that locks both tables first, in the order a
 * settling payout takes them (its timeline row, then the event its trigger writes), so it cannot deadlock with one;
 * no timeline row commits between the two changes without its event. The wider rule is checked against the rows
 * already there afterwards, under a lock that lets writes go on. Each step can run again.
 */
export class PayoutReturnedEvent1763900015000 implements MigrationInterface {
  name = 'PayoutReturnedEvent1763900015000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.startTransaction();
    try {
      await q.query(`LOCK TABLE payout_timeline, partner_events IN ACCESS EXCLUSIVE MODE`);
      await q.query(`ALTER TABLE partner_events DROP CONSTRAINT IF EXISTS partner_events_type_check`);
      await q.query(
        `ALTER TABLE partner_events ADD CONSTRAINT partner_events_type_check CHECK (type IN (${TYPES})) NOT VALID`,
      );
      await q.query(`DROP TRIGGER IF EXISTS payout_timeline_partner_event ON payout_timeline`);
      await q.query(TRIGGER(`'settled', 'failed', 'returned'`));
      await q.commitTransaction();
    } catch (error) {
      await q.rollbackTransaction();
      throw error;
    }
    await q.query(`ALTER TABLE partner_events VALIDATE CONSTRAINT partner_events_type_check`);
  }

  /**
   * Only the trigger goes back (in the transaction TypeORM's revert opens): events already sent as
   * `payout.returned` stay on record, so their type stays allowed.
   */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS payout_timeline_partner_event ON payout_timeline`);
    await q.query(TRIGGER(`'settled', 'failed'`));
  }
}
