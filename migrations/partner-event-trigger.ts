import { QueryRunner } from 'typeorm';
import { inShortTransaction } from './lock-timeout';

/** The trigger that turns a payout's timeline rows of `statuses` (SQL literals) into partner events. */
export const partnerEventTrigger = (statuses: string) => `
  CREATE TRIGGER payout_timeline_partner_event AFTER INSERT ON payout_timeline
    FOR EACH ROW WHEN (NEW.status IN (${statuses}))
    EXECUTE FUNCTION partner_event_from_timeline()`;

/**
 * Lets partner events of more types be written: the type rule becomes `types`, the trigger fires for `statuses`,
 * and `statements` (a new trigger function, say) run between the two. All in one short transaction that locks both
 * tables first, in the order a payout's step takes them (its timeline row, then the event its trigger writes), so
 * it cannot deadlock with one, and no timeline row commits between the changes without its event. The wider rule
 * is checked against the rows already there afterwards, under a lock that lets writes go on. Can run again.
 */
export async function widenPartnerEvents(
  q: QueryRunner,
  change: { types: string; statuses: string; statements?: string[] },
): Promise<void> {
  await inShortTransaction(q, async () => {
    await q.query(`LOCK TABLE payout_timeline, partner_events IN ACCESS EXCLUSIVE MODE`);
    await q.query(`ALTER TABLE partner_events DROP CONSTRAINT IF EXISTS partner_events_type_check`);
    await q.query(
      `ALTER TABLE partner_events ADD CONSTRAINT partner_events_type_check CHECK (type IN (${change.types})) NOT VALID`,
    );
    for (const statement of change.statements ?? []) await q.query(statement);
    await q.query(`DROP TRIGGER IF EXISTS payout_timeline_partner_event ON payout_timeline`);
    await q.query(partnerEventTrigger(change.statuses));
  });
  await q.query(`ALTER TABLE partner_events VALIDATE CONSTRAINT partner_events_type_check`);
}
