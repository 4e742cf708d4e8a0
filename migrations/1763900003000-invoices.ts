import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Export invoices. The issued part is stored as the exact canonical JSON that was hashed and signed, and the
 * database itself refuses to change it, to fill the realization twice, or to rewrite the status history.
 */
export class Invoices1763900003000 implements MigrationInterface {
  name = 'Invoices1763900003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE fx_rates (
        pair text NOT NULL CHECK (pair = 'USD-PKR'),
        as_of date NOT NULL,
        rate numeric(20,6) NOT NULL CHECK (rate > 0),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (pair, as_of)
      )`);
    await q.query(`
      CREATE TABLE invoice_counters (
        freelancer_id uuid NOT NULL REFERENCES freelancers(id),
        year int NOT NULL CHECK (year BETWEEN 2000 AND 9999),
        last int NOT NULL CHECK (last BETWEEN 1 AND 999999),
        PRIMARY KEY (freelancer_id, year)
      )`);
    await q.query(`
      CREATE TABLE invoices (
        id uuid PRIMARY KEY,
        partner_id uuid NOT NULL REFERENCES partners(id),
        freelancer_id uuid NOT NULL REFERENCES freelancers(id),
        payout_id uuid NOT NULL REFERENCES payouts(id),
        year int NOT NULL,
        seq int NOT NULL CHECK (seq BETWEEN 1 AND 999999),
        number text NOT NULL,
        issued_at timestamptz NOT NULL,
        currency char(3) NOT NULL CHECK (currency = 'USD'),
        gross numeric(20,2) NOT NULL CHECK (gross > 0),
        purpose_code text NOT NULL CHECK (purpose_code IN ('9186', '9249')),
        issued_document text NOT NULL,
        sha256 text NOT NULL,
        signature text NOT NULL,
        export_status text NOT NULL
          CHECK (export_status IN ('awaiting_proceeds', 'proceeds_realized', 'proceeds_failed', 'prc_issued')),
        realized_at timestamptz,
        route_id text,
        provider text,
        rail text,
        routing_fees numeric(20,2) CHECK (routing_fees >= 0),
        net_realized numeric(20,2) CHECK (net_realized > 0),
        fx_rate numeric(20,6),
        fx_as_of date,
        pkr_equivalent numeric(24,2),
        esfca_retained numeric(20,2),
        prc_number text,
        prc_issued_at timestamptz,
        prc_bank text,
        prc_recorded_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT invoices_payout_key UNIQUE (payout_id),
        CONSTRAINT invoices_number_key UNIQUE (freelancer_id, year, seq),
        CONSTRAINT invoices_number_format CHECK (number = 'INV-' || year || '-' || lpad(seq::text, 6, '0')),
        CONSTRAINT invoices_sha256_of_document
          CHECK (sha256 = encode(sha256(convert_to(issued_document, 'UTF8')), 'hex')),
        CONSTRAINT invoices_realization_complete CHECK (
          (net_realized IS NULL) = (routing_fees IS NULL)
          AND (net_realized IS NULL) = (route_id IS NULL)
          AND (net_realized IS NULL) = (provider IS NULL)
          AND (net_realized IS NULL) = (rail IS NULL)
          AND (net_realized IS NULL) = (realized_at IS NULL)
          AND (net_realized IS NULL) = (esfca_retained IS NULL)),
        CONSTRAINT invoices_realization_adds_up CHECK (routing_fees + net_realized = gross),
        CONSTRAINT invoices_esfca_within_net CHECK (esfca_retained <= net_realized),
        CONSTRAINT invoices_fx_complete CHECK (
          (fx_rate IS NULL) = (fx_as_of IS NULL) AND (fx_rate IS NULL) = (pkr_equivalent IS NULL)
          AND (fx_rate IS NULL OR net_realized IS NOT NULL)),
        CONSTRAINT invoices_realized_status CHECK (
          export_status IN ('awaiting_proceeds', 'proceeds_failed') OR net_realized IS NOT NULL),
        CONSTRAINT invoices_prc_status CHECK (
          (export_status = 'prc_issued') = (prc_number IS NOT NULL)
          AND (prc_number IS NULL) = (prc_issued_at IS NULL)
          AND (prc_number IS NULL) = (prc_bank IS NULL)
          AND (prc_number IS NULL) = (prc_recorded_at IS NULL))
      )`);
    await q.query(`CREATE INDEX invoices_partner_page_idx ON invoices (partner_id, created_at, id)`);
    await q.query(`CREATE INDEX invoices_freelancer_page_idx ON invoices (freelancer_id, created_at, id)`);
    await q.query(`
      CREATE FUNCTION invoices_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
        IF OLD.net_realized IS NOT NULL AND
           (NEW.realized_at, NEW.route_id, NEW.provider, NEW.rail, NEW.routing_fees, NEW.net_realized, NEW.fx_rate,
            NEW.fx_as_of, NEW.pkr_equivalent, NEW.esfca_retained)
           IS DISTINCT FROM
           (OLD.realized_at, OLD.route_id, OLD.provider, OLD.rail, OLD.routing_fees, OLD.net_realized, OLD.fx_rate,
            OLD.fx_as_of, OLD.pkr_equivalent, OLD.esfca_retained)
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
      END $$`);
    await q.query(`
      CREATE TRIGGER invoices_guard BEFORE UPDATE OR DELETE ON invoices
      FOR EACH ROW EXECUTE FUNCTION invoices_guard()`);
    await q.query(`
      CREATE TABLE invoice_status_events (
        id bigserial PRIMARY KEY,
        invoice_id uuid NOT NULL REFERENCES invoices(id),
        partner_id uuid NOT NULL REFERENCES partners(id),
        status text NOT NULL
          CHECK (status IN ('awaiting_proceeds', 'proceeds_realized', 'proceeds_failed', 'prc_issued')),
        previous_status text,
        at timestamptz NOT NULL,
        detail text,
        document text NOT NULL,
        sha256 text NOT NULL,
        signature text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT invoice_status_events_sha256_of_document
          CHECK (sha256 = encode(sha256(convert_to(document, 'UTF8')), 'hex'))
      )`);
    await q.query(`CREATE INDEX invoice_status_events_invoice_idx ON invoice_status_events (invoice_id, id)`);
    await q.query(`CREATE INDEX invoice_status_events_partner_idx ON invoice_status_events (partner_id, id)`);
    await q.query(`
      CREATE FUNCTION invoice_status_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'invoice status events are append-only';
      END $$`);
    await q.query(`
      CREATE TRIGGER invoice_status_events_append_only BEFORE UPDATE OR DELETE ON invoice_status_events
      FOR EACH ROW EXECUTE FUNCTION invoice_status_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE invoice_status_events`);
    await q.query(`DROP FUNCTION invoice_status_events_append_only()`);
    await q.query(`DROP TABLE invoices`);
    await q.query(`DROP FUNCTION invoices_guard()`);
    await q.query(`DROP TABLE invoice_counters`);
    await q.query(`DROP TABLE fx_rates`);
  }
}
