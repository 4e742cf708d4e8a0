import { Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { DataSource, EntityManager } from 'typeorm';
import { headerLines } from '../common/http-edge';
import { Problems } from '../common/problem';

export type IdempotencyClaim =
  | { kind: 'claimed'; token: string }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

/** How long a claim protects a request whose worker may have died mid-way. */
const LOCK_SECONDS = 60;
/** How long a completed answer is kept: the contract promises at least 24 hours. */
export const IDEMPOTENCY_RETENTION_HOURS = 48;
const PURGE_BATCH = 5000;

/**
 * A request that holds its Idempotency-Key, as the handler sees it: the handler that makes its effect in a
 * transaction completes the key in that same transaction (`completeIn`), so no crash between the two can let a
 * retry run the effect again. `token` fences the claim: a claim whose lock ran out and passed to a retry can no
 * longer complete the key.
 */
export interface IdempotencyHold {
  partnerId: string;
  key: string;
  requestHash: string;
  token: string;
  status: number;
}

/** Idempotency keys in Postgres: the primary key decides which of two concurrent requests runs. */
@Injectable()
export class IdempotencyService {
  constructor(private readonly db: DataSource) {}

  async claim(partnerId: string, key: string, requestHash: string): Promise<IdempotencyClaim> {
    // A key taken over (past its retention, or a claim whose lock ran out) drops the answer it held in the same
    // statement that gives it the new fingerprint: no reader, and no retry after a crash, ever finds the new
    // request's fingerprint beside the old request's answer. A claim whose lock ran out passes only to a retry of
    // the same request: within its retention the key belongs to that body, and another one answers 422.
    const inserted = await this.db.query(
      `INSERT INTO idempotency_keys (partner_id, key, request_hash, state, locked_until)
       VALUES ($1, $2, $3, 'in_progress', now() + make_interval(secs => $4))
       ON CONFLICT (partner_id, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, locked_until = EXCLUDED.locked_until, created_at = now(),
             state = 'in_progress', response_status = NULL, response_body = NULL
         WHERE idempotency_keys.state = 'in_progress' AND idempotency_keys.locked_until < now()
               AND idempotency_keys.request_hash = EXCLUDED.request_hash
            OR idempotency_keys.created_at < now() - make_interval(hours => $5)
       RETURNING locked_until::text AS token`,
      [partnerId, key, requestHash, LOCK_SECONDS, IDEMPOTENCY_RETENTION_HOURS],
    );
    if (inserted.length) return { kind: 'claimed', token: inserted[0].token };
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
   * Keeps the answer of the request that holds the key, in `manager`'s transaction when given one. Only that
   * request's own claim is completed (its token): a claim whose lock ran out may have passed to a retry meanwhile,
   * and the retry's answer must not be overwritten. Answers whether it completed the key.
   */
  async complete(
    hold: IdempotencyHold,
    status: number,
    body: unknown,
    manager: EntityManager = this.db.manager,
  ): Promise<boolean> {
    // An UPDATE answers [rows, row count] through TypeORM.
    const [, completed]: [unknown, number] = await manager.query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = $5, response_body = $6::json
       WHERE partner_id = $1 AND key = $2 AND request_hash = $3 AND state = 'in_progress'
         AND locked_until = $4::timestamptz`,
      [hold.partnerId, hold.key, hold.requestHash, hold.token, status, JSON.stringify(body ?? null)],
    );
    return completed > 0;
  }

  /**
   * Completes the held key with the answer, in the transaction that makes the request's effect: both commit or
   * neither does. Throws 409 when the claim is no longer this request's (its lock ran out and a retry took the
   * key), which rolls the effect back: the retry makes it instead.
   */
  async completeIn(tx: EntityManager, hold: IdempotencyHold | null, body: unknown): Promise<void> {
    if (hold && !(await this.complete(hold, hold.status, body, tx))) {
      throw Problems.conflict('A retry with this Idempotency-Key took over this request; its answer stands.');
    }
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
           -- Only a key past its retention is taken over. A claim in progress is always another request's
           -- (this one never leaves one): even once its lock ran out, it passes to that request's retry only.
           WHERE idempotency_keys.created_at < now() - make_interval(hours => $4)
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

  /** Whether the partner's key belongs to a request within its retention (one in progress included). */
  async isTaken(partnerId: string, key: string): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 FROM idempotency_keys
       WHERE partner_id = $1 AND key = $2 AND created_at >= now() - make_interval(hours => $3)`,
      [partnerId, key, IDEMPOTENCY_RETENTION_HOURS],
    );
    return rows.length > 0;
  }

  /** The request failed in a way a retry may fix (5xx, 429): forget the key so the retry runs. */
  async release(hold: IdempotencyHold): Promise<void> {
    await this.db.query(
      `DELETE FROM idempotency_keys
       WHERE partner_id = $1 AND key = $2 AND request_hash = $3 AND state = 'in_progress'
         AND locked_until = $4::timestamptz`,
      [hold.partnerId, hold.key, hold.requestHash, hold.token],
    );
  }

  /**
   * Deletes the keys past their retention, a batch per statement: a first purge of a long backlog is then many
   * short transactions rather than one that holds its locks and WAL for the whole of it. Answers how many went.
   */
  async purgeExpired(batch = PURGE_BATCH): Promise<number> {
    let purged = 0;
    for (;;) {
      const [, deleted]: [unknown, number] = await this.db.query(
        `DELETE FROM idempotency_keys WHERE ctid IN (
           SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)
           ORDER BY created_at LIMIT $2)`,
        [IDEMPOTENCY_RETENTION_HOURS, batch],
      );
      purged += deleted;
      if (deleted < batch) return purged;
    }
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The request's Idempotency-Key, undefined without one. Node reads header bytes as Latin-1: a key sent in UTF-8
 * counts the characters it spells, and must be 1 to 255 of them. It is stored as Node read it, as keys always
 * were (so a retry of a key kept before keeps matching it), unless that reading is longer than 255: then as
 * the characters. A repeated header, which Node would join into one value ("a, b"), is refused.
 */
export function idempotencyKeyOf(headers: IncomingHttpHeaders, rawHeaders: string[]): string | undefined {
  const header = headers['idempotency-key'];
  if (header === undefined) return undefined;
  if (headerLines(rawHeaders, 'idempotency-key') > 1 || typeof header !== 'string') {
    throw Problems.validation([{ field: 'Idempotency-Key', message: 'must be sent once' }]);
  }
  let spelled = header;
  try {
    spelled = UTF8.decode(Buffer.from(header, 'latin1'));
  } catch {
    // Not UTF-8: the bytes as they came.
  }
  const characters = [...spelled].length;
  if (characters < 1 || characters > 255) {
    throw Problems.validation([{ field: 'Idempotency-Key', message: 'must be 1 to 255 characters' }]);
  }
  return header.length <= 255 ? header : spelled;
}

/** The answer to a key that was used with a different request. */
export function keyUsedElsewhere(): Error {
  return Problems.unprocessable(
    [
      {
        field: 'Idempotency-Key',
        message: 'was already used with a different request (another endpoint or body)',
      },
    ],
    'This Idempotency-Key was used with a different request.',
  );
}
