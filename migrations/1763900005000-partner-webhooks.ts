import { MigrationInterface, QueryRunner } from 'typeorm';

export class PartnerWebhooks1763900005000 implements MigrationInterface {
  name = 'PartnerWebhooks1763900005000';

  async up(q: QueryRunner): Promise<void> {
    // The signing secret is stored only encrypted. Like platform connections, endpoints remember their own
    // Idempotency-Key: the generic idempotency store keeps response bodies in clear, and this one holds the secret.
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY,
        partner_id uuid NOT NULL REFERENCES partners(id),
        url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
        secret_ciphertext bytea NOT NULL,
        idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
        request_hash text,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        deleted_at timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX webhook_endpoints_idempotency_key ON webhook_endpoints (partner_id, idempotency_key)
       WHERE idempotency_key IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX webhook_endpoints_partner_page_idx ON webhook_endpoints (partner_id, created_at, id)
       WHERE deleted_at IS NULL`,
    );

    // One row per thing that happened to a partner, derived from a source row; the unique source key makes
    // gathering idempotent however often and by however many dispatchers it runs.
    await q.query(`
      CREATE TABLE partner_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_id uuid NOT NULL REFERENCES partners(id),
        type text NOT NULL
          CHECK (type IN ('payout.settled', 'payout.failed', 'invoice.issued', 'invoice.export_status_changed')),
        source text NOT NULL CHECK (source IN ('payout_timeline', 'invoice_status_events')),
        source_id bigint NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        fanned_out_at timestamptz,
        CONSTRAINT partner_events_source_key UNIQUE (source, source_id)
      )`);
    await q.query(
      `CREATE INDEX partner_events_fan_out_idx ON partner_events (created_at) WHERE fanned_out_at IS NULL`,
    );

    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        event_id uuid NOT NULL REFERENCES partner_events(id),
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id),
        partner_id uuid NOT NULL REFERENCES partners(id),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
        attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_attempt_at timestamptz,
        last_status_code int,
        last_error text,
        delivered_at timestamptz,
        enqueued_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT webhook_deliveries_event_endpoint_key UNIQUE (event_id, endpoint_id)
      )`);
    await q.query(
      `CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
    await q.query(
      `CREATE INDEX webhook_deliveries_endpoint_page_idx ON webhook_deliveries (endpoint_id, created_at, id)`,
    );
    await q.query(`
      CREATE TABLE webhook_delivery_attempts (
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id),
        attempt int NOT NULL CHECK (attempt >= 1),
        at timestamptz NOT NULL,
        status_code int,
        error text,
        duration_ms int NOT NULL CHECK (duration_ms >= 0),
        PRIMARY KEY (delivery_id, attempt)
      )`);

    // Gathering reads the final payout states and the invoice status events of the last days on every pass.
    await q.query(
      `CREATE INDEX payout_timeline_final_at_idx ON payout_timeline (at) WHERE status IN ('settled', 'failed')`,
    );
    await q.query(`CREATE INDEX invoice_status_events_created_idx ON invoice_status_events (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX invoice_status_events_created_idx`);
    await q.query(`DROP INDEX payout_timeline_final_at_idx`);
    await q.query(`DROP TABLE webhook_delivery_attempts`);
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE partner_events`);
    await q.query(`DROP TABLE webhook_endpoints`);
  }
}
