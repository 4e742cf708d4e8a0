import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sandbox providers' own books. They stand in for the providers' systems, so they hold no foreign keys
 * into ours: a provider knows a payout only by the references we send it.
 */
export class SandboxTransfers1763900004000 implements MigrationInterface {
  name = 'SandboxTransfers1763900004000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sandbox_provider_settings (
        provider_id text PRIMARY KEY,
        latency_ms int NOT NULL CHECK (latency_ms BETWEEN 0 AND 600000),
        settle_after_ms int NOT NULL CHECK (settle_after_ms BETWEEN 0 AND 600000),
        transient_failure_rate numeric NOT NULL CHECK (transient_failure_rate BETWEEN 0 AND 1),
        permanent_failure_rate numeric NOT NULL CHECK (permanent_failure_rate BETWEEN 0 AND 1),
        timeout_rate numeric NOT NULL CHECK (timeout_rate BETWEEN 0 AND 1),
        return_rate numeric NOT NULL CHECK (return_rate BETWEEN 0 AND 1),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // How many times each key was sent: the n in the outcome draw for (provider, key, n).
    await q.query(`
      CREATE TABLE sandbox_send_calls (
        provider_id text NOT NULL,
        idempotency_key text NOT NULL,
        calls int NOT NULL CHECK (calls >= 1),
        PRIMARY KEY (provider_id, idempotency_key)
      )`);
    await q.query(`
      CREATE TABLE sandbox_transfers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider_id text NOT NULL,
        idempotency_key text NOT NULL,
        payout_id text NOT NULL,
        attempt_id text NOT NULL,
        route_id text NOT NULL,
        amount numeric(20,2) NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL CHECK (currency = 'USD'),
        beneficiary_name text NOT NULL,
        beneficiary_iban text NOT NULL,
        beneficiary_institution text NOT NULL,
        account_kind text NOT NULL CHECK (account_kind IN ('bank_fcy', 'fintech_usd')),
        state text NOT NULL DEFAULT 'processing' CHECK (state IN ('processing', 'settled', 'returned')),
        accepted_at timestamptz NOT NULL,
        settles_at timestamptz NOT NULL,
        returns_at timestamptz,
        return_reason text,
        settled_at timestamptz,
        returned_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT sandbox_transfers_key UNIQUE (provider_id, idempotency_key),
        CONSTRAINT sandbox_transfers_settles_after_acceptance CHECK (settles_at >= accepted_at),
        CONSTRAINT sandbox_transfers_returns_after_settlement CHECK (returns_at IS NULL OR returns_at >= settles_at),
        CONSTRAINT sandbox_transfers_return_has_reason CHECK ((returns_at IS NULL) = (return_reason IS NULL)),
        CONSTRAINT sandbox_transfers_state_times CHECK (
          (state = 'processing' AND settled_at IS NULL AND returned_at IS NULL)
          OR (state = 'settled' AND settled_at IS NOT NULL AND returned_at IS NULL)
          OR (state = 'returned' AND settled_at IS NOT NULL AND returned_at IS NOT NULL AND returns_at IS NOT NULL)
        )
      )`);
    await q.query(`CREATE INDEX sandbox_transfers_payout_idx ON sandbox_transfers (payout_id)`);
    await q.query(`CREATE INDEX sandbox_transfers_page_idx ON sandbox_transfers (created_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE sandbox_transfers`);
    await q.query(`DROP TABLE sandbox_send_calls`);
    await q.query(`DROP TABLE sandbox_provider_settings`);
  }
}
