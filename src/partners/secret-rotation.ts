import { createHash } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { canonicalJson } from '../common/canonical-json';
import { Problems } from '../common/problem';
import { openSecret, sealSecret } from '../common/secret-box';
import { IdempotencyService, keyUsedElsewhere } from './idempotency.service';

/** The most a replaced secret may go on working: a week, as long as the other side may need to move over. */
export const MAX_PREVIOUS_SECRET_SECONDS = 7 * 24 * 3600;
export const DEFAULT_PREVIOUS_SECRET_SECONDS = 24 * 3600;

/**
 * Where one kind of partner-owned signing secret lives. Its table has `id`, `partner_id`, `secret_ciphertext`,
 * `previous_secret_ciphertext` and `previous_secret_expires_at`; its log of rotations has `partner_id`, the
 * owner's id column, `previous_secret_expires_at`, `idempotency_key`, `request_hash` and `secret_ciphertext`.
 */
export interface SecretStore {
  table: string;
  /** A condition the owner's row must meet to be rotated (`true`, or for example `deleted_at IS NULL`). */
  live: string;
  rotations: string;
  ownerColumn: string;
  /** The context a row's secret is sealed with, so a sealed secret cannot be moved to another row. */
  sealedFor(id: string): string;
  generate(): string;
  /** What a missing owner is called in the 404. */
  noun: string;
}

export interface SecretRotation<Row> {
  /** The owner's row after the rotation (for a replay, as it is now). */
  row: Row;
  /** The new secret in clear: shown once, or again to a repeat under the same Idempotency-Key. */
  secret: string;
  previousExpiresAt: Date;
  replayed: boolean;
}

/**
 * Gives the owner a fresh secret inside `tx`; the one it replaces stays as the previous secret until
 * `now + validForSeconds`, and the secret before that is dropped. With an Idempotency-Key, a repeat of the same
 * request answers the first rotation's secret again instead of rotating once more, which would drop the secret
 * the other side still uses; the new secret is then kept sealed with the rotation to answer it.
 */
export async function rotateSecret<Row>(
  tx: EntityManager,
  idempotency: IdempotencyService,
  secretsKey: Buffer,
  store: SecretStore,
  request: { partnerId: string; id: string; validForSeconds: number; idempotencyKey?: string; now: Date },
): Promise<SecretRotation<Row>> {
  const { partnerId, id, idempotencyKey } = request;
  const requestHash = idempotencyKey
    ? createHash('sha256')
        .update(canonicalJson({ id, previousSecretValidForSeconds: request.validForSeconds }))
        .digest('hex')
    : null;
  await idempotency.reserveForOwnReplay(tx, partnerId, idempotencyKey, `${store.rotations}:${requestHash}`);
  if (idempotencyKey !== undefined) {
    const [earlier]: { owner: string; request_hash: string; secret_ciphertext: Buffer; expires_at: Date }[] =
      await tx.query(
        `SELECT ${store.ownerColumn} AS owner, request_hash, secret_ciphertext, previous_secret_expires_at AS expires_at
         FROM ${store.rotations} WHERE partner_id = $1 AND idempotency_key = $2`,
        [partnerId, idempotencyKey],
      );
    if (earlier) {
      if (earlier.request_hash !== requestHash) throw keyUsedElsewhere();
      const [row]: Row[] = await tx.query(`SELECT * FROM ${store.table} WHERE id = $1`, [earlier.owner]);
      const secret = openSecret(secretsKey, earlier.secret_ciphertext, store.sealedFor(earlier.owner));
      return { row, secret, previousExpiresAt: earlier.expires_at, replayed: true };
    }
  }
  const secret = store.generate();
  const sealed = sealSecret(secretsKey, secret, store.sealedFor(id));
  const previousExpiresAt = new Date(request.now.getTime() + request.validForSeconds * 1000);
  // An UPDATE answers [rows, count] through TypeORM.
  const [rows]: [Row[], number] = await tx.query(
    `UPDATE ${store.table}
     SET previous_secret_ciphertext = secret_ciphertext, previous_secret_expires_at = $3, secret_ciphertext = $4
     WHERE id = $1 AND partner_id = $2 AND ${store.live}
     RETURNING *`,
    [id, partnerId, previousExpiresAt, sealed],
  );
  if (!rows.length) throw Problems.notFound(store.noun);
  await tx.query(
    `INSERT INTO ${store.rotations}
       (${store.ownerColumn}, partner_id, previous_secret_expires_at, idempotency_key, request_hash, secret_ciphertext)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [id, partnerId, previousExpiresAt, idempotencyKey ?? null, requestHash, idempotencyKey ? sealed : null],
  );
  return { row: rows[0], secret, previousExpiresAt, replayed: false };
}

/** The previous secret, opened, with the time it stops working; null when there is none. */
export function openPrevious(
  secretsKey: Buffer,
  row: { id: string; previous_secret_ciphertext: Buffer | null; previous_secret_expires_at: Date | null },
  store: Pick<SecretStore, 'sealedFor'>,
): { secret: string; expiresAtMs: number } | null {
  if (!row.previous_secret_ciphertext || !row.previous_secret_expires_at) return null;
  return {
    secret: openSecret(secretsKey, row.previous_secret_ciphertext, store.sealedFor(row.id)),
    expiresAtMs: row.previous_secret_expires_at.getTime(),
  };
}
