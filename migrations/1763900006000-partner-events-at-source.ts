import { MigrationInterface, QueryRunner } from 'typeorm';

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** The event of a payout timeline row `t` of payout `p`: the trigger's NEW or a backfilled row. */
const payoutEvent = (t: string) => `
  SELECT p.partner_id, 'payout.' || ${t}.status, 'payout_timeline', ${t}.id,
         jsonb_build_object(
           'payoutId', p.id, 'platform', p.platform, 'platformPayoutId', p.platform_payout_id,
           'freelancerId', p.freelancer_id, 'gross', p.gross::text, 'currency', p.currency,
           'status', ${t}.status, 'net', p.net::text, 'fees', p.fees, 'invoiceId', p.invoice_id,
           'failureReason', p.failure_reason, 'at', to_char(${t}.at AT TIME ZONE 'UTC', ${ISO_UTC}))`;

/** The event of an invoice status event `s` of invoice `i`. */
const invoiceEvent = (s: string) => `
  SELECT ${s}.partner_id,
         CASE WHEN ${s}.status = 'awaiting_proceeds' AND ${s}.previous_status IS NULL THEN 'invoice.issued'
              ELSE 'invoice.export_status_changed' END,
         'invoice_status_events', ${s}.id,
         jsonb_build_object(
           'invoiceId', i.id, 'number', i.number, 'payoutId', i.payout_id, 'exportStatus', ${s}.status,
           'previousStatus', ${s}.previous_status, 'at', to_char(${s}.at AT TIME ZONE 'UTC', ${ISO_UTC}))`;

const INSERT_EVENT = `INSERT INTO partner_events (partner_id, type, source, source_id, payload)`;

/**
 * Partner events are written by the database in the transaction that writes their source row (a settled or
 * failed payout's timeline row, an invoice status event), instead of by a dispatcher pass that searched the
 * last hours of both tables for rows without an event: that search grew with the traffic of the whole
 * look-back window and ran several times a second. Now an event exists exactly when its source row commits.
 * Rows within the dispatcher's former look-back (72 hours by default) that still have no event get one here;
 * older ones never would have. A deployment that had raised PARTNER_EVENTS_LOOKBACK_HOURS lets its dispatcher
 * catch up before this migration runs.
 */
export class PartnerEventsAtSource1763900006000 implements MigrationInterface {
  name = 'PartnerEventsAtSource1763900006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION partner_event_from_timeline() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${INSERT_EVENT} ${payoutEvent('NEW')}
          FROM payouts p WHERE p.id = NEW.payout_id
        ON CONFLICT (source, source_id) DO NOTHING;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER payout_timeline_partner_event AFTER INSERT ON payout_timeline
        FOR EACH ROW WHEN (NEW.status IN ('settled', 'failed'))
        EXECUTE FUNCTION partner_event_from_timeline()`);

    await q.query(`
      CREATE FUNCTION partner_event_from_invoice_status() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${INSERT_EVENT} ${invoiceEvent('NEW')}
          FROM invoices i WHERE i.id = NEW.invoice_id
        ON CONFLICT (source, source_id) DO NOTHING;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER invoice_status_events_partner_event AFTER INSERT ON invoice_status_events
        FOR EACH ROW EXECUTE FUNCTION partner_event_from_invoice_status()`);

    await q.query(`
      ${INSERT_EVENT} ${payoutEvent('t')}
        FROM payout_timeline t JOIN payouts p ON p.id = t.payout_id
       WHERE t.status IN ('settled', 'failed') AND t.at > now() - interval '72 hours'
       ORDER BY t.id
      ON CONFLICT (source, source_id) DO NOTHING`);
    await q.query(`
      ${INSERT_EVENT} ${invoiceEvent('s')}
        FROM invoice_status_events s JOIN invoices i ON i.id = s.invoice_id
       WHERE s.created_at > now() - interval '72 hours'
       ORDER BY s.id
      ON CONFLICT (source, source_id) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER invoice_status_events_partner_event ON invoice_status_events`);
    await q.query(`DROP FUNCTION partner_event_from_invoice_status()`);
    await q.query(`DROP TRIGGER payout_timeline_partner_event ON payout_timeline`);
    await q.query(`DROP FUNCTION partner_event_from_timeline()`);
  }
}
