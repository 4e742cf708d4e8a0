import { MigrationInterface, QueryRunner } from 'typeorm';

export class Payouts1763900000500 implements MigrationInterface {
  name = 'Payouts1763900000500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payouts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_id uuid NOT NULL REFERENCES partners(id),
        connection_id uuid NOT NULL REFERENCES platform_connections(id),
        platform text NOT NULL,
        platform_payout_id text NOT NULL,
        source_event_id uuid NOT NULL,
        freelancer_ref text NOT NULL,
        freelancer_id uuid REFERENCES freelancers(id),
        account_id uuid REFERENCES dollar_accounts(id),
        account_kind text,
        gross numeric(20,2) NOT NULL CHECK (gross > 0 AND gross <= 1000000),
        currency char(3) NOT NULL CHECK (currency = 'USD'),
        client_name text NOT NULL,
        client_country char(2) NOT NULL CHECK (client_country ~ '^[A-Z]{2}$' AND client_country <> 'PK'),
        description text NOT NULL,
        service_category text NOT NULL,
        status text NOT NULL CHECK (status IN ('received', 'unmatched', 'routed', 'sending', 'settled', 'failed', 'returned')),
        decision jsonb,
        fees jsonb,
        net numeric(20,2),
        invoice_id uuid,
        failure_reason text,
        route_round int NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT payouts_platform_payout_key UNIQUE (connection_id, platform_payout_id)
      )`);
    await q.query(`CREATE INDEX payouts_partner_page_idx ON payouts (partner_id, created_at, id)`);
    await q.query(`CREATE INDEX payouts_freelancer_idx ON payouts (freelancer_id)`);
    await q.query(
      `CREATE INDEX payouts_open_idx ON payouts (status, updated_at) WHERE status IN ('received', 'routed', 'sending')`,
    );
    await q.query(`
      CREATE TABLE payout_timeline (
        id bigserial PRIMARY KEY,
        payout_id uuid NOT NULL REFERENCES payouts(id),
        status text NOT NULL,
        detail text,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`CREATE INDEX payout_timeline_payout_idx ON payout_timeline (payout_id, id)`);
    await q.query(`
      CREATE TABLE payout_attempts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        payout_id uuid NOT NULL REFERENCES payouts(id),
        seq int NOT NULL CHECK (seq >= 1),
        round int NOT NULL CHECK (round >= 1),
        route_id text NOT NULL,
        provider text NOT NULL,
        quote jsonb NOT NULL,
        idempotency_key text NOT NULL UNIQUE,
        status text NOT NULL CHECK (status IN ('pending', 'accepted', 'unknown', 'settled', 'failed', 'returned')),
        provider_transfer_id text,
        error text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT payout_attempts_seq_key UNIQUE (payout_id, seq)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE payout_attempts`);
    await q.query(`DROP TABLE payout_timeline`);
    await q.query(`DROP TABLE payouts`);
  }
}
