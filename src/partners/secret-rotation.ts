import { createHash, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from '../common/canonical-json';
import { Problems } from '../common/problem';
import { openSecret, sealSecret, SecretBoxError, SecretKeys } from '../common/secret-box';
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
  /** The context a row's current secret is sealed with, so a sealed secret cannot be moved to another row. */
  sealedFor(id: string): string;
}

export const ROTATED_SECRET_TABLES = {
  connections: {
    table: 'platform_connections',
    rotations: 'platform_connection_rotations',
    ownerColumn: 'connection_id',
    sealedFor: (id: string) => id,
  },
  endpoints: {
    table: 'webhook_endpoints',
    rotations: 'webhook_endpoint_rotations',
    ownerColumn: 'endpoint_id',
    sealedFor: (id: string) => `webhook-endpoint:${id}`,
  },
} as const satisfies Record<string, RotatedSecretTables>;

/** Where one kind of secret lives, and how its rows seal it. */
export interface SecretStore extends RotatedSecretTables {
  /** A condition the owner's row must meet to be rotated (`true`, or for example `deleted_at IS NULL`). */
  live: string;
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

const previousContext = (store: RotatedSecretTables, id: string, expiresAt: string) =>
  `${store.sealedFor(id)}:previous:${expiresAt}`;
const replayContext = (store: RotatedSecretTables, id: string, rotationId: string) =>
  `${store.sealedFor(id)}:rotation:${rotationId}`;
/** The context of the copy a row keeps of its first secret, to answer a repeat of the request that created it. */
const createdContext = (store: RotatedSecretTables, id: string) => `${store.sealedFor(id)}:created`;

/** A row's current secret, sealed for the row. */
export function sealCurrent(keys: SecretKeys, store: SecretStore, id: string, secret: string): Buffer {
  return sealSecret(keys, secret, store.sealedFor(id));
}

/** The row's current secret, opened. */
export function openCurrent(
  keys: SecretKeys,
  store: SecretStore,
  row: { id: string; secret_ciphertext: Buffer },
): string {
  return openSecret(keys, row.secret_ciphertext, store.sealedFor(row.id));
}

/**
 * The copy a new row keeps of its first secret when its creation had an Idempotency-Key (a repeat then answers
 * that secret even after a rotation, see openFirstSecret); null without a key.
 */
export function sealCreatedCopy(
  keys: SecretKeys,
  store: SecretStore,
  id: string,
  secret: string,
  idempotencyKey: string | undefined,
): Buffer | null {
  return idempotencyKey ? sealSecret(keys, secret, createdContext(store, id)) : null;
}

/** The secret a row's creation answered, for a repeat of it: its kept copy, or once that is forgotten the current one. */
export function openFirstSecret(
  keys: SecretKeys,
  store: SecretStore,
  row: { id: string; secret_ciphertext: Buffer; created_secret_ciphertext: Buffer | null },
): string {
  return row.created_secret_ciphertext
    ? openSecret(keys, row.created_secret_ciphertext, createdContext(store, row.id))
    : openCurrent(keys, store, row);
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
  keys: SecretKeys,
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
  if (!row) {
    // A repeat of a rotation made before the owner was deleted answers that rotation again, as a repeated creation
    // of a deleted owner answers its creation: the same key and body get the first answer, not a 404.
    const [gone]: Row[] = idempotencyKey
      ? await tx.query(`SELECT * FROM ${store.table} WHERE id = $1 AND partner_id = $2`, [id, partnerId])
      : [];
    const earlier = gone && (await earlierRotation(tx, keys, store, request, requestHash));
    if (gone && earlier) return { row: gone, ...earlier, replayed: true };
    throw Problems.notFound(store.noun);
  }

  const earlier = idempotencyKey && (await earlierRotation(tx, keys, store, request, requestHash));
  if (earlier) return { row, ...earlier, replayed: true };

  const nowMs = request.now.getTime();
  const still = row.previous_secrets.filter((p) => Date.parse(p.expiresAt) > nowMs);
  let previous: StoredPrevious[] = [];
  let previousExpiresAt: Date | null = null;
  if (request.validForSeconds > 0) {
    previousExpiresAt = new Date(nowMs + request.validForSeconds * 1000);
    const expiresAt = previousExpiresAt.toISOString();
    const replaced = openCurrent(keys, store, row);
    const sealed = sealSecret(keys, replaced, previousContext(store, id, expiresAt)).toString('base64');
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
    [id, sealCurrent(keys, store, id, secret), JSON.stringify(previous)],
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
      idempotencyKey ? sealSecret(keys, secret, replayContext(store, id, rotationId)) : null,
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
  keys: SecretKeys,
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
    secret: openSecret(keys, earlier.secret_ciphertext, replayContext(store, id, earlier.id)),
    previousExpiresAt: earlier.expires_at,
  };
}

export interface OpenedPrevious {
  secret: string;
  expiresAtMs: number;
}

/** The replaced secrets of a row that still work at `nowMs`, opened, with their expiry, newest first. */
export function workingPrevious(
  keys: SecretKeys,
  store: SecretStore,
  row: { id: string; previous_secrets: StoredPrevious[] },
  nowMs: number,
): OpenedPrevious[] {
  return row.previous_secrets
    .filter((p) => Date.parse(p.expiresAt) > nowMs)
    .map((p) => ({
      secret: openSecret(keys, Buffer.from(p.sealed, 'base64'), previousContext(store, row.id, p.expiresAt)),
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

/** Rows one transaction of a reseal pass locks. */
const RESEAL_BATCH = 100;
const FIRST_UUID = '00000000-0000-0000-0000-000000000000';

/** What one reseal pass over a kind of secret did. */
export interface ResealPass {
  /** Values sealed again with the current key. */
  resealed: number;
  /** Rows (owners or rotations) holding a value no key given opens: they stay as they are. */
  unreadable: string[];
}

/** A condition on a sealed column: it holds a value the current key ($1, its prefix) did not seal. */
const sealedElsewhere = (column: string) =>
  `(${column} IS NOT NULL AND substring(${column} FROM 1 FOR length($1::bytea)) <> $1::bytea)`;
/** An owner row holding any value the current key did not seal. */
const ownerSealedElsewhere = `(${sealedElsewhere('secret_ciphertext')} OR ${sealedElsewhere('created_secret_ciphertext')}
  OR EXISTS (SELECT 1 FROM jsonb_array_elements(previous_secrets) p
             WHERE ${sealedElsewhere("decode(p->>'sealed', 'base64')")}))`;

type SealedRow = RotatedRow & { created_secret_ciphertext: Buffer | null };

/**
 * Seals again with the current key every stored value of one kind of secret that another key sealed: each row's
 * secret, the replaced secrets it keeps, its copy of its first secret, and the rotations' replay copies; deleted
 * rows too, so that no value is left for the old key. Rows are read on in id order, in batches each locked in a
 * transaction of its own; a row another transaction holds (a rotation under way) is skipped, and the next pass,
 * which finds it by its prefix again, takes it. Owners and rotation rows are never locked together, so a pass and
 * a rotation cannot deadlock; the locks are NO KEY ones, so webhooks still arrive for the rows being resealed.
 */
export async function resealSecrets(
  db: DataSource,
  keys: SecretKeys,
  tables: RotatedSecretTables,
): Promise<ResealPass> {
  const pass: ResealPass = { resealed: 0, unreadable: [] };
  const prefix = keys.currentPrefix;
  const again = (sealed: Buffer, context: string) => {
    if (sealed.subarray(0, prefix.length).equals(prefix)) return sealed;
    const resealed = sealSecret(keys, openSecret(keys, sealed, context), context);
    pass.resealed += 1;
    return resealed;
  };
  for (let after = FIRST_UUID; ;) {
    const rows: SealedRow[] = await db.transaction(async (tx) => {
      const locked: SealedRow[] = await tx.query(
        `SELECT id, secret_ciphertext, previous_secrets, created_secret_ciphertext FROM ${tables.table}
           WHERE id > $2 AND ${ownerSealedElsewhere}
           ORDER BY id LIMIT ${RESEAL_BATCH} FOR NO KEY UPDATE SKIP LOCKED`,
        [prefix, after],
      );
      const nowMs = Date.now();
      for (const row of locked) {
        // Each value on its own: one no key opens stays as it is, and the row is named, while the others move on.
        let unreadable = false;
        const each = (sealed: Buffer, context: string) => {
          try {
            return again(sealed, context);
          } catch (error) {
            if (!(error instanceof SecretBoxError)) throw error;
            unreadable = true;
            return sealed;
          }
        };
        const secret = each(row.secret_ciphertext, tables.sealedFor(row.id));
        const created =
          row.created_secret_ciphertext &&
          each(row.created_secret_ciphertext, createdContext(tables, row.id));
        // A replaced secret past its expiry verifies nothing any more: it is dropped, not sealed again.
        const previous = row.previous_secrets
          .filter((p) => Date.parse(p.expiresAt) > nowMs)
          .map((p) => ({
            ...p,
            sealed: each(
              Buffer.from(p.sealed, 'base64'),
              previousContext(tables, row.id, p.expiresAt),
            ).toString('base64'),
          }));
        await tx.query(
          `UPDATE ${tables.table}
             SET secret_ciphertext = $2, created_secret_ciphertext = $3, previous_secrets = $4::jsonb WHERE id = $1`,
          [row.id, secret, created, JSON.stringify(previous)],
        );
        if (unreadable) pass.unreadable.push(row.id);
      }
      return locked;
    });
    if (rows.length < RESEAL_BATCH) break;
    after = rows[rows.length - 1].id;
  }
  for (let after = FIRST_UUID; ;) {
    const rows: { id: string }[] = await db.transaction(async (tx) => {
      const locked: { id: string; owner: string; secret_ciphertext: Buffer }[] = await tx.query(
        `SELECT id, ${tables.ownerColumn} AS owner, secret_ciphertext FROM ${tables.rotations}
         WHERE id > $2 AND ${sealedElsewhere('secret_ciphertext')}
         ORDER BY id LIMIT ${RESEAL_BATCH} FOR NO KEY UPDATE SKIP LOCKED`,
        [prefix, after],
      );
      for (const rotation of locked) {
        try {
          const sealed = again(
            rotation.secret_ciphertext,
            replayContext(tables, rotation.owner, rotation.id),
          );
          await tx.query(`UPDATE ${tables.rotations} SET secret_ciphertext = $2 WHERE id = $1`, [
            rotation.id,
            sealed,
          ]);
        } catch (error) {
          if (!(error instanceof SecretBoxError)) throw error;
          pass.unreadable.push(rotation.id);
        }
      }
      return locked;
    });
    if (rows.length < RESEAL_BATCH) break;
    after = rows[rows.length - 1].id;
  }
  return pass;
}

/** How many rows (owners and rotations) of one kind of secret still hold a value the current key did not seal. */
export async function countSealedElsewhere(
  db: DataSource,
  keys: SecretKeys,
  tables: RotatedSecretTables,
): Promise<number> {
  const [{ count }]: { count: string }[] = await db.query(
    `SELECT (SELECT count(*) FROM ${tables.table} WHERE ${ownerSealedElsewhere})
          + (SELECT count(*) FROM ${tables.rotations} WHERE ${sealedElsewhere('secret_ciphertext')}) AS count`,
    [keys.currentPrefix],
  );
  return Number(count);
}
