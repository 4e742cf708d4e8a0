import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Problems } from '../common/problem';

export type IdempotencyClaim =
  | { kind: 'claimed' }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

/** How long a claim protects a request whose worker may have died mid-way. */
const LOCK_SECONDS = 60;
/** How long a completed answer is kept: the contract promises at least 24 hours. */
export const IDEMPOTENCY_RETENTION_HOURS = 48;

/** Idempotency keys in Postgres: the primary key decides which of two concurrent requests runs. */
@Injectable()
export class IdempotencyService {
  constructor(private readonly db: DataSource) {}

  async claim(partnerId: string, key: string, requestHash: string): Promise<IdempotencyClaim> {
    const inserted = await this.db.query(
      `INSERT INTO idempotency_keys (partner_id, key, request_hash, state, locked_until)
       VALUES ($1, $2, $3, 'in_progress', now() + make_interval(secs => $4))
       ON CONFLICT (partner_id, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, locked_until = EXCLUDED.locked_until, created_at = now()
         WHERE idempotency_keys.state = 'in_progress' AND idempotency_keys.locked_until < now()
            OR idempotency_keys.created_at < now() - make_interval(hours => $5)
       RETURNING state`,
      [partnerId, key, requestHash, LOCK_SECONDS, IDEMPOTENCY_RETENTION_HOURS],
    );
    if (inserted.length) {
      if (inserted[0].state === 'completed') {
        await this.db.query(
          `UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, response_body = NULL
           WHERE partner_id = $1 AND key = $2`,
          [partnerId, key],
        );
      }
      return { kind: 'claimed' };
    }
    const [row] = await this.db.query(
      `SELECT request_hash, state, response_status, response_body FROM idempotency_keys
       WHERE partner_id = $1 AND key = $2`,
      [partnerId, key],
    );
    if (!row) return this.claim(partnerId, key, requestHash);
    if (row.request_hash !== requestHash) return { kind: 'mismatch' };
    if (row.state === 'completed')
      return { kind: 'replay', status: row.response_status, body: row.response_body };
    return { kind: 'in_progress' };
  }

  /**
   * Keeps the answer of the request that holds the key. Only that request's own claim is completed: a claim
   * whose lock ran out may have passed to another request meanwhile, and its answer must not be overwritten.
   */
  async complete(
    partnerId: string,
    key: string,
    requestHash: string,
    status: number,
    body: unknown,
  ): Promise<void> {
    await this.db.query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = $4, response_body = $5::json
       WHERE partner_id = $1 AND key = $2 AND request_hash = $3 AND state = 'in_progress'`,
      [partnerId, key, requestHash, status, JSON.stringify(body ?? null)],
    );
  }

  /**
   * A POST whose answer holds a secret keeps its own replay (the secret stays encrypted there) but still takes
   * its key here, under a fingerprint no other request has, so one key never serves two different requests of
   * a partner (without a key, nothing to take). Throws 422 when the key already belongs to another request. Runs in the transaction that
   * creates the resource, so a request that fails (409, 5xx) leaves the key as free as it found it.
   */
  async reserveForOwnReplay(
    tx: EntityManager,
    partnerId: string,
    key: string | undefined,
    fingerprint: string,
  ): Promise<void> {
    if (key === undefined) return;
    const requestHash = `own:${fingerprint}`;
    for (;;) {
      const inserted = await tx.query(
        `INSERT INTO idempotency_keys (partner_id, key, request_hash, state, locked_until)
         VALUES ($1, $2, $3, 'completed', now())
         ON CONFLICT (partner_id, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, state = 'completed', response_status = NULL,
               response_body = NULL, locked_until = now(), created_at = now()
           WHERE idempotency_keys.state = 'in_progress' AND idempotency_keys.locked_until < now()
              OR idempotency_keys.created_at < now() - make_interval(hours => $4)
         RETURNING 1`,
        [partnerId, key, requestHash, IDEMPOTENCY_RETENTION_HOURS],
      );
      if (inserted.length) return;
      const [row] = await tx.query(
        `SELECT request_hash FROM idempotency_keys WHERE partner_id = $1 AND key = $2`,
        [partnerId, key],
      );
      if (!row) continue;
      if (row.request_hash !== requestHash) throw keyUsedElsewhere();
      return;
    }
  }

  /** The request failed in a way a retry may fix (5xx, 429): forget the key so the retry runs. */
  async release(partnerId: string, key: string, requestHash: string): Promise<void> {
    await this.db.query(
      `DELETE FROM idempotency_keys
       WHERE partner_id = $1 AND key = $2 AND request_hash = $3 AND state = 'in_progress'`,
      [partnerId, key, requestHash],
    );
  }

  async purgeExpired(): Promise<number> {
    const result = await this.db.query(
      `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)`,
      [IDEMPOTENCY_RETENTION_HOURS],
    );
    return result[1] ?? 0;
  }
}

/** Refuses an Idempotency-Key header that is not one string of 1 to 255 characters. */
export function assertIdempotencyKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length < 1 || key.length > 255) {
    throw Problems.validation([{ field: 'Idempotency-Key', message: 'must be 1 to 255 characters' }]);
  }
}

/** The answer to a key that was used with a different request. */
export function keyUsedElsewhere(): Error {
  return Problems.unprocessable(
    [{ field: 'Idempotency-Key', message: 'was already used with a different request body' }],
    'This Idempotency-Key was used with a different request.',
  );
}
