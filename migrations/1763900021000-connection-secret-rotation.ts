import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A platform connection's signing secret can be rotated. The secret it replaces keeps verifying until
 * `previous_secret_expires_at`, so the platform can move to the new one without a window of refused webhooks.
 * Each rotation is recorded; one asked with an Idempotency-Key keeps its new secret (encrypted, as the
 * connection's) to answer a repeat of the request with the same secret instead of rotating again.
 *
 * Outside a transaction: the columns are added without a default (no rewrite), the rule on them unchecked (a
 * short lock), then checked under a lock that lets intake go on reading. Each step can run again.
 */
export class ConnectionSecretRotation1763900021000 implements MigrationInterface {
  name = 'ConnectionSecretRotation1763900021000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE platform_connections
        ADD COLUMN IF NOT EXISTS previous_secret_ciphertext bytea,
        ADD COLUMN IF NOT EXISTS previous_secret_expires_at timestamptz`);
    await q.query(
      `ALTER TABLE platform_connections DROP CONSTRAINT IF EXISTS platform_connections_previous_secret`,
    );
    await q.query(
      `ALTER TABLE platform_connections ADD CONSTRAINT platform_connections_previous_secret
         CHECK ((previous_secret_ciphertext IS NULL) = (previous_secret_expires_at IS NULL)) NOT VALID`,
    );
    await q.query(
      `ALTER TABLE platform_connections VALIDATE CONSTRAINT platform_connections_previous_secret`,
    );
    await q.query(`
      CREATE TABLE IF NOT EXISTS platform_connection_rotations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        connection_id uuid NOT NULL REFERENCES platform_connections(id),
        partner_id uuid NOT NULL REFERENCES partners(id),
        previous_secret_expires_at timestamptz NOT NULL,
        idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
        request_hash text,
        secret_ciphertext bytea,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CHECK ((idempotency_key IS NULL) = (secret_ciphertext IS NULL)),
        CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX IF NOT EXISTS platform_connection_rotations_idempotency_key
         ON platform_connection_rotations (partner_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS platform_connection_rotations_connection_idx
         ON platform_connection_rotations (connection_id, created_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS platform_connection_rotations`);
    await q.query(`
      ALTER TABLE platform_connections
        DROP CONSTRAINT IF EXISTS platform_connections_previous_secret,
        DROP COLUMN IF EXISTS previous_secret_ciphertext,
        DROP COLUMN IF EXISTS previous_secret_expires_at`);
  }
}
