import { MigrationInterface, QueryRunner } from 'typeorm';
import { partnerEventTrigger, widenPartnerEvents } from './partner-event-trigger';

const TYPES = `'payout.settled', 'payout.failed', 'payout.returned', 'payout.unmatched', 'invoice.issued', 'invoice.export_status_changed'`;

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** The trigger function as PartnerEventsAtSource1763900006000 made it, with the payout's `freelancerRef` added. */
const FUNCTION = `
  CREATE OR REPLACE FUNCTION partner_event_from_timeline() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO partner_events (partner_id, type, source, source_id, payload)
    SELECT p.partner_id, 'payout.' || NEW.status, 'payout_timeline', NEW.id,
           jsonb_build_object(
             'payoutId', p.id, 'platform', p.platform, 'platformPayoutId', p.platform_payout_id,
             'freelancerId', p.freelancer_id, 'freelancerRef', p.freelancer_ref, 'gross', p.gross::text,
             'currency', p.currency, 'status', NEW.status, 'net', p.net::text, 'fees', p.fees,
             'invoiceId', p.invoice_id, 'failureReason', p.failure_reason,
             'at', to_char(NEW.at AT TIME ZONE 'UTC', ${ISO_UTC}))
    FROM payouts p WHERE p.id = NEW.payout_id
    ON CONFLICT (source, source_id) DO NOTHING;
    RETURN NULL;
  END $$`;

/**
 * A payout for a freelancer the partner has not registered tells the partner so, as `payout.unmatched`: the money
 * waits until the partner registers the freelancer (with the `freelancerRef` the event now carries, as every
 * payout event does) and ops retry it. Before, only ops saw it.
 *
 * The type rule, the function and the trigger change as widenPartnerEvents says.
 */
export class PayoutUnmatchedEvent1763900027000 implements MigrationInterface {
  name = 'PayoutUnmatchedEvent1763900027000';
  transaction = false;

  up(q: QueryRunner): Promise<void> {
    return widenPartnerEvents(q, {
      types: TYPES,
      statuses: `'settled', 'failed', 'returned', 'unmatched'`,
      statements: [FUNCTION],
    });
  }

  /**
   * Only the trigger goes back (in the transaction TypeORM's revert opens): events already sent as
   * `payout.unmatched` stay on record, so their type stays allowed, and the extra payload field harms no one.
   */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS payout_timeline_partner_event ON payout_timeline`);
    await q.query(partnerEventTrigger(`'settled', 'failed', 'returned'`));
  }
}
