import { createHash, randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { canonicalJson } from '../common/canonical-json';
import { Problems } from '../common/problem';
import { openSecret, sealSecret } from '../common/secret-box';
import { IDEMPOTENCY_RETENTION_HOURS, IdempotencyService, keyUsedElsewhere } from './idempotency.service';

/** The most a replaced secret may go on working: a week, as long as the other side may need to move over. */
export const MAX_PREVIOUS_SECRET_SECONDS = 7 * 24 * 3600;
export const DEFAULT_PREVIOUS_SECRET_SECONDS = 24 * 3600;
/**
 * Replaced secrets kept working at most, newest first: a rotation repeated before the other side moved over
 * (a retry without an Idempotency-Key, two people at once) must not drop the secret it still uses, and each one
 * kept costs a signature per delivery or a verification per refused webhook.
 */
export const MAX_PREVIOUS_SECRETS = 3;

/** The tables of one kind of partner-owned signing secret (see migrations/secret-rotation.ts). */
export interface RotatedSecretTables {
  /** Rows with `id`, `partner_id`, `secret_ciphertext`, `previous_secrets`, `created_secret_ciphertext`. */
  table: string;
  /** The log of rotations, one row each. */
  rotations: string;
  /** The log's column naming the row. */
  ownerColumn: string;
}

export const ROTATED_SECRET_TABLES = {
  connections: {
    table: 'platform_connections',
    rotations: 'platform_connection_rotations',
    ownerColumn: 'connection_id',
  },
  endpoints: {
    table: 'webhook_endpoints',
    rotations: 'webhook_endpoint_rotations',
    ownerColumn: 'endpoint_id',
  },
} as const satisfies Record<string, RotatedSecretTables>;

/** Where one kind of secret lives, and how its rows seal it. */
export interface SecretStore extends RotatedSecretTables {
  /** A condition the owner's row must meet to be rotated (`true`, or for example `deleted_at IS NULL`). */
  live: string;
  /** The context a row's current secret is sealed with, so a sealed secret cannot be moved to another row. */
  sealedFor(id: string): string;
  generate(): string;
  /** What a missing owner is called in the 404. */
  noun: string;
}

/** A replaced secret as the row keeps it: sealed for its row and its expiry, so neither can be changed. */
export interface StoredPrevious {
  sealed: string;
  expiresAt: string;
}

/** Rows as the rotation reads them; the caller's row type has at least these columns. */
interface RotatedRow {
  id: string;
  secret_ciphertext: Buffer;
  previous_secrets: StoredPrevious[];
}

export interface SecretRotation<Row> {
  /** The owner's row after the rotation (for a replay, as it is now). */
  row: Row;
  /** The new secret in clear: shown once, or again to a repeat under the same Idempotency-Key. */
  secret: string;
  /** Until when the secret it replaced works; null when it stopped at once. */
  previousExpiresAt: Date | null;
  replayed: boolean;
}

const previousContext = (store: SecretStore, id: string, expiresAt: string) =>
  `${store.sealedFor(id)}:previous:${expiresAt}`;
const replayContext = (store: SecretStore, id: string, rotationId: string) =>
  `${store.sealedFor(id)}:rotation:${rotationId}`;
/** The context of the copy a row keeps of its first secret, to answer a repeat of the request that created it. */
const createdContext = (store: SecretStore, id: string) => `${store.sealedFor(id)}:created`;

/** A row's current secret, sealed for the row. */
export function sealCurrent(secretsKey: Buffer, store: SecretStore, id: string, secret: string): Buffer {
  return sealSecret(secretsKey, secret, store.sealedFor(id));
}

/** The row's current secret, opened. */
export function openCurrent(
  secretsKey: Buffer,
  store: SecretStore,
  row: { id: string; secret_ciphertext: Buffer },
): string {
  return openSecret(secretsKey, row.secret_ciphertext, store.sealedFor(row.id));
}

/**
 * The copy a new row keeps of its first secret when its creation had an Idempotency-Key (a repeat then answers
 * that secret even after a rotation, see openFirstSecret); null without a key.
 */
export function sealCreatedCopy(
  secretsKey: Buffer,
  store: SecretStore,
  id: string,
  secret: string,
  idempotencyKey: string | undefined,
): Buffer | null {
  return idempotencyKey ? sealSecret(secretsKey, secret, createdContext(store, id)) : null;
}

/** The secret a row's creation answered, for a repeat of it: its kept copy, or once that is forgotten the current one. */
export function openFirstSecret(
  secretsKey: Buffer,
  store: SecretStore,
  row: { id: string; secret_ciphertext: Buffer; created_secret_ciphertext: Buffer | null },
): string {
  return row.created_secret_ciphertext
    ? openSecret(secretsKey, row.created_secret_ciphertext, createdContext(store, row.id))
    : openCurrent(secretsKey, store, row);
}

/**
 * Gives the owner a fresh secret inside `tx`. The one it replaces goes on working until `now + validForSeconds`
 * (DEFAULT_PREVIOUS_SECRET_SECONDS unless given),
 * beside those replaced before that still work (at most MAX_PREVIOUS_SECRETS, newest first); `validForSeconds` 0
 * stops every replaced secret at once, as for a leak. With an Idempotency-Key, a repeat of the same request within
 * the keys' retention answers the first rotation's secret again instead of rotating once more; that copy is sealed
 * for its rotation alone and forgotten after the retention (forgetReplayCopies).
 */
export async function rotateSecret<Row extends RotatedRow>(
  tx: EntityManager,
  idempotency: IdempotencyService,
  secretsKey: Buffer,
  store: SecretStore,
  rotation: { partnerId: string; id: string; validForSeconds?: number; idempotencyKey?: string; now: Date },
): Promise<SecretRotation<Row>> {
  const request = {
    ...rotation,
    validForSeconds: rotation.validForSeconds ?? DEFAULT_PREVIOUS_SECRET_SECONDS,
  };
  const { partnerId, id, idempotencyKey } = request;
  const requestHash = idempotencyKey
    ? createHash('sha256')
        .update(canonicalJson({ id, previousSecretValidForSeconds: request.validForSeconds }))
        .digest('hex')
    : null;
  await idempotency.reserveForOwnReplay(tx, partnerId, idempotencyKey, `${store.rotations}:${requestHash}`);
  const [row]: Row[] = await tx.query(
    `SELECT * FROM ${store.table} WHERE id = $1 AND partner_id = $2 AND ${store.live} FOR NO KEY UPDATE`,
    [id, partnerId],
  );
  if (!row) throw Problems.notFound(store.noun);

  const earlier = idempotencyKey && (await earlierRotation(tx, secretsKey, store, request, requestHash));
  if (earlier) return { row, ...earlier, replayed: true };

  const nowMs = request.now.getTime();
  const still = row.previous_secrets.filter((p) => Date.parse(p.expiresAt) > nowMs);
  let previous: StoredPrevious[] = [];
  let previousExpiresAt: Date | null = null;
  if (request.validForSeconds > 0) {
    previousExpiresAt = new Date(nowMs + request.validForSeconds * 1000);
    const expiresAt = previousExpiresAt.toISOString();
    const replaced = openCurrent(secretsKey, store, row);
    const sealed = sealSecret(secretsKey, replaced, previousContext(store, id, expiresAt)).toString('base64');
    previous = [{ sealed, expiresAt }, ...still].slice(0, MAX_PREVIOUS_SECRETS);
  } else {
    // Ended at once, as for a leak: no repeat of an earlier request may hand out one of the ended secrets again
    // (a repeat of an earlier rotation then rotates anew).
    await tx.query(
      `UPDATE ${store.rotations} SET idempotency_key = NULL, request_hash = NULL, secret_ciphertext = NULL
       WHERE ${store.ownerColumn} = $1 AND idempotency_key IS NOT NULL`,
      [id],
    );
    await tx.query(`UPDATE ${store.table} SET created_secret_ciphertext = NULL WHERE id = $1`, [id]);
  }
  const secret = store.generate();
  // An UPDATE answers [rows, count] through TypeORM.
  const [rows]: [Row[], number] = await tx.query(
    `UPDATE ${store.table} SET secret_ciphertext = $2, previous_secrets = $3::jsonb WHERE id = $1 RETURNING *`,
    [id, sealCurrent(secretsKey, store, id, secret), JSON.stringify(previous)],
  );
  const rotationId = randomUUID();
  await tx.query(
    `INSERT INTO ${store.rotations}
       (id, ${store.ownerColumn}, partner_id, previous_secret_expires_at, idempotency_key, request_hash, secret_ciphertext)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      rotationId,
      id,
      partnerId,
      previousExpiresAt,
      idempotencyKey ?? null,
      requestHash,
      idempotencyKey ? sealSecret(secretsKey, secret, replayContext(store, id, rotationId)) : null,
    ],
  );
  return { row: rows[0], secret, previousExpiresAt, replayed: false };
}

/**
 * The secret an earlier rotation under the same Idempotency-Key answered, to answer it again; null when there was
 * none within the keys' retention (a key past it is freed from its rotation first). Another request under the
 * key answers 422.
 */
async function earlierRotation(
  tx: EntityManager,
  secretsKey: Buffer,
  store: SecretStore,
  request: { partnerId: string; id: string; idempotencyKey?: string },
  requestHash: string | null,
): Promise<{ secret: string; previousExpiresAt: Date | null } | null> {
  const { partnerId, id, idempotencyKey } = request;
  await tx.query(
    `UPDATE ${store.rotations} SET idempotency_key = NULL, request_hash = NULL, secret_ciphertext = NULL
     WHERE partner_id = $1 AND idempotency_key = $2 AND created_at <= now() - make_interval(hours => $3)`,
    [partnerId, idempotencyKey, IDEMPOTENCY_RETENTION_HOURS],
  );
  const [earlier]: {
    id: string;
    request_hash: string;
    secret_ciphertext: Buffer;
    expires_at: Date | null;
  }[] = await tx.query(
    `SELECT id, request_hash, secret_ciphertext, previous_secret_expires_at AS expires_at FROM ${store.rotations}
       WHERE partner_id = $1 AND idempotency_key = $2`,
    [partnerId, idempotencyKey],
  );
  if (!earlier) return null;
  if (earlier.request_hash !== requestHash) throw keyUsedElsewhere();
  return {
    secret: openSecret(secretsKey, earlier.secret_ciphertext, replayContext(store, id, earlier.id)),
    previousExpiresAt: earlier.expires_at,
  };
}

export interface OpenedPrevious {
  secret: string;
  expiresAtMs: number;
}

/** The replaced secrets of a row that still work at `nowMs`, opened, with their expiry, newest first. */
export function workingPrevious(
  secretsKey: Buffer,
  store: SecretStore,
  row: { id: string; previous_secrets: StoredPrevious[] },
  nowMs: number,
): OpenedPrevious[] {
  return row.previous_secrets
    .filter((p) => Date.parse(p.expiresAt) > nowMs)
    .map((p) => ({
      secret: openSecret(
        secretsKey,
        Buffer.from(p.sealed, 'base64'),
        previousContext(store, row.id, p.expiresAt),
      ),
      expiresAtMs: Date.parse(p.expiresAt),
    }));
}

/** Until when the last of the row's replaced secrets works, as an ISO string; null when none works at `nowMs`. */
export function previousSecretExpiresAt(
  row: { previous_secrets: StoredPrevious[] },
  nowMs: number,
): string | null {
  const times = row.previous_secrets.map((p) => Date.parse(p.expiresAt)).filter((t) => t > nowMs);
  return times.length ? new Date(Math.max(...times)).toISOString() : null;
}

/**
 * Forgets the sealed copies kept only to answer repeats of a request (a rotation's new secret, a row's first
 * secret) once the Idempotency-Keys they answer are past their retention; a rotation's key is then free again.
 * Answers how many rows it changed.
 */
export async function forgetReplayCopies(
  manager: EntityManager,
  tables: RotatedSecretTables,
): Promise<number> {
  const [, rotations]: [unknown, number] = await manager.query(
    `UPDATE ${tables.rotations} SET idempotency_key = NULL, request_hash = NULL, secret_ciphertext = NULL
     WHERE idempotency_key IS NOT NULL AND created_at <= now() - make_interval(hours => $1)`,
    [IDEMPOTENCY_RETENTION_HOURS],
  );
  const [, created]: [unknown, number] = await manager.query(
    `UPDATE ${tables.table} SET created_secret_ciphertext = NULL
     WHERE created_secret_ciphertext IS NOT NULL AND created_at <= now() - make_interval(hours => $1)`,
    [IDEMPOTENCY_RETENTION_HOURS],
  );
  return rotations + created;
}
