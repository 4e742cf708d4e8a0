import { MigrationInterface, QueryRunner } from 'typeorm';

export class PlatformConnectionsAndEvents1763900000400 implements MigrationInterface {
  name = 'PlatformConnectionsAndEvents1763900000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE platform_connections (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_id uuid NOT NULL REFERENCES partners(id),
        platform text NOT NULL,
        scheme text NOT NULL CHECK (scheme IN ('standard-webhooks', 'stripe')),
        secret_ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
      )`);
    await q.query(`CREATE INDEX platform_connections_partner_idx ON platform_connections (partner_id)`);
    // The generic idempotency store keeps response bodies in clear; this response holds the signing secret,
    // so connections remember their own Idempotency-Key and replay by decrypting the stored secret.
    await q.query(`
      ALTER TABLE platform_connections
        ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
        ADD COLUMN request_hash text`);
    await q.query(
      `CREATE UNIQUE INDEX platform_connections_idempotency_key ON platform_connections (partner_id, idempotency_key)
       WHERE idempotency_key IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX platform_connections_partner_page_idx ON platform_connections (partner_id, created_at, id)`,
    );

    // Every signed notification, stored before it is answered. Doubles as the outbox of route-payout jobs:
    // enqueued_at stays NULL until the hand-off to the queue is done (or not needed), and a sweeper
    // re-enqueues what Redis never took.
    await q.query(`
      CREATE TABLE webhook_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        connection_id uuid NOT NULL REFERENCES platform_connections(id),
        partner_id uuid NOT NULL REFERENCES partners(id),
        event_id text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
        event_type text,
        status text NOT NULL CHECK (status IN ('accepted', 'rejected', 'ignored')),
        raw_body bytea NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}'::jsonb,
        errors jsonb,
        payout_id uuid,
        enqueued_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT webhook_events_event_key UNIQUE (connection_id, event_id),
        CONSTRAINT webhook_events_rejected_has_errors CHECK (status <> 'rejected' OR errors IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX webhook_events_page_idx ON webhook_events (created_at, id)`);
    await q.query(`CREATE INDEX webhook_events_status_page_idx ON webhook_events (status, created_at, id)`);
    await q.query(`CREATE INDEX webhook_events_payout_idx ON webhook_events (payout_id)`);
    await q.query(
      `CREATE INDEX webhook_events_outbox_idx ON webhook_events (created_at)
       WHERE status = 'accepted' AND enqueued_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_events`);
    await q.query(`DROP TABLE platform_connections`);
  }
}
