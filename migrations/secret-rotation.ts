import { QueryRunner } from 'typeorm';

/** A table whose rows hold a sealed signing secret, the log of its rotations, and the log's column naming the row. */
export interface RotatedSecretTables {
  table: string;
  rotations: string;
  ownerColumn: string;
}

/**
 * Lets the secrets of `table` be rotated: the replaced secret and its expiry on the row, and a log of rotations
 * (one asked with an Idempotency-Key keeps its new secret, sealed, to answer a repeat). For a migration with
 * `transaction = false`: the columns are added without a default (no rewrite), the rule on them unchecked (a
 * short lock), then checked under a lock that lets writes go on. Each step can run again.
 */
export async function addSecretRotation(
  q: QueryRunner,
  { table, rotations, ownerColumn }: RotatedSecretTables,
) {
  await q.query(`
    ALTER TABLE ${table}
      ADD COLUMN IF NOT EXISTS previous_secret_ciphertext bytea,
      ADD COLUMN IF NOT EXISTS previous_secret_expires_at timestamptz`);
  await q.query(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${table}_previous_secret`);
  await q.query(
    `ALTER TABLE ${table} ADD CONSTRAINT ${table}_previous_secret
       CHECK ((previous_secret_ciphertext IS NULL) = (previous_secret_expires_at IS NULL)) NOT VALID`,
  );
  await q.query(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${table}_previous_secret`);
  await q.query(`
    CREATE TABLE IF NOT EXISTS ${rotations} (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      ${ownerColumn} uuid NOT NULL REFERENCES ${table}(id),
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
      DROP CONSTRAINT IF EXISTS ${table}_previous_secret,
      DROP COLUMN IF EXISTS previous_secret_ciphertext,
      DROP COLUMN IF EXISTS previous_secret_expires_at`);
}
