import { QueryRunner } from 'typeorm';
import { withLockTimeout } from './lock-timeout';

/** A table whose rows hold a sealed signing secret, the log of its rotations, and the log's column naming the row. */
export interface RotatedSecretTables {
  table: string;
  rotations: string;
  ownerColumn: string;
}

/**
 * Lets the secrets of `table` be rotated:
 * - `previous_secrets`: the replaced secrets that still work, each sealed for its row and expiry, newest first;
 * - `created_secret_ciphertext`: a copy of the first secret while a repeat of the request that created the row may
 *   still come (it had an Idempotency-Key), so the repeat answers it even after a rotation;
 * - a log of rotations; one asked with an Idempotency-Key keeps its new secret, sealed for that rotation, for as
 *   long as the key is kept, to answer a repeat.
 * For a migration with `transaction = false`: columns with a constant default are added without a rewrite, under
 * a lock timeout (withLockTimeout); each step can run again.
 */
export async function addSecretRotation(
  q: QueryRunner,
  { table, rotations, ownerColumn }: RotatedSecretTables,
) {
  await withLockTimeout(q, [
    `ALTER TABLE ${table}
       ADD COLUMN IF NOT EXISTS previous_secrets jsonb NOT NULL DEFAULT '[]',
       ADD COLUMN IF NOT EXISTS created_secret_ciphertext bytea`,
  ]);
  await q.query(`
    CREATE TABLE IF NOT EXISTS ${rotations} (
      id uuid PRIMARY KEY,
      ${ownerColumn} uuid NOT NULL REFERENCES ${table}(id),
      partner_id uuid NOT NULL REFERENCES partners(id),
      previous_secret_expires_at timestamptz,
      idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
      request_hash text,
      secret_ciphertext bytea,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CHECK ((idempotency_key IS NULL) = (secret_ciphertext IS NULL)),
      CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
    )`);
  await q.query(
    `CREATE UNIQUE INDEX IF NOT EXISTS ${rotations}_idempotency_key
       ON ${rotations} (partner_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
  );
  await q.query(
    `CREATE INDEX IF NOT EXISTS ${rotations}_owner_idx ON ${rotations} (${ownerColumn}, created_at)`,
  );
}

export async function dropSecretRotation(q: QueryRunner, { table, rotations }: RotatedSecretTables) {
  await q.query(`DROP TABLE IF EXISTS ${rotations}`);
  await q.query(`
    ALTER TABLE ${table}
      DROP COLUMN IF EXISTS previous_secrets,
      DROP COLUMN IF EXISTS created_secret_ciphertext`);
}
