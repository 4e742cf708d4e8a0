import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The realization is filled once, with one exception: proceeds realized on a day for which no USD-PKR rate was on
 * record yet get the rate (and their PKR equivalent) when ops record one, once. The guard lets those three
 * columns go from empty to filled, and nothing else of a filled realization ever changes.
 */
const guard = (fxMayBeFilledLater: boolean) => `
  CREATE OR REPLACE FUNCTION invoices_guard() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'DELETE' THEN
      RAISE EXCEPTION 'invoice % is never deleted', OLD.number;
    END IF;
    IF (NEW.id, NEW.partner_id, NEW.freelancer_id, NEW.payout_id, NEW.year, NEW.seq, NEW.number, NEW.issued_at,
        NEW.currency, NEW.gross, NEW.purpose_code, NEW.issued_document, NEW.sha256, NEW.signature, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.partner_id, OLD.freelancer_id, OLD.payout_id, OLD.year, OLD.seq, OLD.number, OLD.issued_at,
        OLD.currency, OLD.gross, OLD.purpose_code, OLD.issued_document, OLD.sha256, OLD.signature, OLD.created_at)
    THEN
      RAISE EXCEPTION 'the issued part of invoice % never changes', OLD.number;
    END IF;
    IF OLD.net_realized IS NOT NULL AND (
         (NEW.realized_at, NEW.route_id, NEW.provider, NEW.rail, NEW.routing_fees, NEW.net_realized,
          NEW.esfca_retained)
         IS DISTINCT FROM
         (OLD.realized_at, OLD.route_id, OLD.provider, OLD.rail, OLD.routing_fees, OLD.net_realized,
          OLD.esfca_retained)
         OR ((NEW.fx_rate, NEW.fx_as_of, NEW.pkr_equivalent) IS DISTINCT FROM
             (OLD.fx_rate, OLD.fx_as_of, OLD.pkr_equivalent)
             ${fxMayBeFilledLater ? 'AND OLD.fx_rate IS NOT NULL' : ''}))
    THEN
      RAISE EXCEPTION 'the realization of invoice % is filled once', OLD.number;
    END IF;
    IF OLD.prc_number IS NOT NULL AND
       (NEW.prc_number, NEW.prc_issued_at, NEW.prc_bank, NEW.prc_recorded_at)
       IS DISTINCT FROM (OLD.prc_number, OLD.prc_issued_at, OLD.prc_bank, OLD.prc_recorded_at)
    THEN
      RAISE EXCEPTION 'the e-PRC of invoice % is recorded once', OLD.number;
    END IF;
    RETURN NEW;
  END $$`;

export class InvoiceFxFilledLater1763900011000 implements MigrationInterface {
  name = 'InvoiceFxFilledLater1763900011000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(guard(true));
    await q.query(
      `CREATE INDEX invoices_awaiting_fx_idx ON invoices (realized_at) WHERE net_realized IS NOT NULL AND fx_rate IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX invoices_awaiting_fx_idx`);
    await q.query(guard(false));
  }
}
