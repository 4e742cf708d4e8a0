import { DataSource } from 'typeorm';
import { insertPartner } from '../../test/support/payout-rows';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { ProblemException } from '../common/problem';
import { IDEMPOTENCY_RETENTION_HOURS, IdempotencyService } from './idempotency.service';

describe(IdempotencyService.name, () => {
  let db: DataSource;
  let keys: IdempotencyService;
  let partnerId: string;

  beforeAll(async () => {
    db = await new DataSource(dataSourceOptions(loadConfig().databaseUrl)).initialize();
    keys = new IdempotencyService(db);
    partnerId = await insertPartner(db, 'idem-take-over');
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await db.destroy();
  });

  /** The key held by a claim of `requestHash` whose process died: its lock ran out a second ago. */
  async function staleClaim(key: string, requestHash: string): Promise<void> {
    await db.query(
      `INSERT INTO idempotency_keys (partner_id, key, request_hash, state, locked_until, created_at)
       VALUES ($1, $2, $3, 'in_progress', now() - interval '1 second', now() - interval '2 minutes')`,
      [partnerId, key, requestHash],
    );
  }

  /**
   * A key past its retention that the sweeper has not purged yet is taken by the next request that names it. The
   * row then belongs to that request from the statement that takes it: no moment, and no process that dies
   * between two statements, may leave the new request's fingerprint beside the old request's answer.
   */
  describe('taking over a key past its retention', () => {
    it('never answers the new request with the old request’s stored answer, even if the taker dies after its first statement', async () => {
      const key = `k-${process.pid}-expired`;
      await db.query(
        `INSERT INTO idempotency_keys
           (partner_id, key, request_hash, state, response_status, response_body, locked_until, created_at)
         VALUES ($1, $2, 'hash-of-the-old-request', 'completed', 201, '{"id":"the-old-answer"}',
                 now() - make_interval(hours => $3 + 1), now() - make_interval(hours => $3 + 1))`,
        [partnerId, key, IDEMPOTENCY_RETENTION_HOURS],
      );

      // The process taking the key dies right after its first statement (or is merely slow there while a
      // retry of the same new request arrives).
      const real = db.query.bind(db);
      let statements = 0;
      const spy = jest.spyOn(db, 'query').mockImplementation(((...args: Parameters<DataSource['query']>) => {
        statements += 1;
        if (statements > 1) return Promise.reject(new Error('the process died here'));
        return real(...args);
      }) as DataSource['query']);
      await keys.claim(partnerId, key, 'hash-of-the-new-request').catch(() => undefined);
      spy.mockRestore();

      // The new request's retry must not be handed the old request's answer as if it were its own.
      const retry = await keys.claim(partnerId, key, 'hash-of-the-new-request');
      expect(retry).not.toEqual(expect.objectContaining({ kind: 'replay' }));
      const [row] = await db.query(
        `SELECT request_hash, state, response_status, response_body FROM idempotency_keys
         WHERE partner_id = $1 AND key = $2`,
        [partnerId, key],
      );
      expect(row).toEqual({
        request_hash: 'hash-of-the-new-request',
        state: 'in_progress',
        response_status: null,
        response_body: null,
      });
    });

    it('passes a claim whose lock ran out to a retry of the same request only: another body is told the key is taken', async () => {
      const key = `k-${process.pid}-stale-lock`;
      await staleClaim(key, 'hash-of-the-first-request');
      expect(await keys.claim(partnerId, key, 'hash-of-another-request')).toEqual({ kind: 'mismatch' });
      expect(await keys.claim(partnerId, key, 'hash-of-the-first-request')).toEqual({
        kind: 'claimed',
        token: expect.any(String),
      });
    });
  });

  describe('a completed key within its retention', () => {
    it('still replays, and refuses another request, 23 hours after it was answered (kept at least 24 hours)', async () => {
      const key = `k-${process.pid}-answered-23h-ago`;
      await db.query(
        `INSERT INTO idempotency_keys
           (partner_id, key, request_hash, state, response_status, response_body, locked_until, created_at)
         VALUES ($1, $2, 'hash-a', 'completed', 201, '{"id":"first"}', now() - interval '23 hours',
                 now() - interval '23 hours')`,
        [partnerId, key],
      );
      expect(await keys.claim(partnerId, key, 'hash-b')).toEqual({ kind: 'mismatch' });
      expect(await keys.claim(partnerId, key, 'hash-a')).toEqual({
        kind: 'replay',
        status: 201,
        body: { id: 'first' },
      });
    });

    it('replays the stored answer to a retry that comes after the claim’s lock ran out, and never runs it again', async () => {
      const key = `k-${process.pid}-completed-then-retried`;
      const claimed = await keys.claim(partnerId, key, 'hash-of-the-request');
      if (claimed.kind !== 'claimed') throw new Error(`expected a claim, got ${claimed.kind}`);
      const hold = { partnerId, key, requestHash: 'hash-of-the-request', token: claimed.token, status: 201 };
      expect(await keys.complete(hold, 201, { id: 'the-payout' })).toBe(true);
      // The platform's retry comes two minutes later: the 60 s lock of the claim is long over, the key is not.
      await db.query(
        `UPDATE idempotency_keys SET locked_until = now() - interval '1 minute', created_at = now() - interval '2 minutes'
         WHERE partner_id = $1 AND key = $2`,
        [partnerId, key],
      );
      expect(await keys.claim(partnerId, key, 'hash-of-the-request')).toEqual({
        kind: 'replay',
        status: 201,
        body: { id: 'the-payout' },
      });
      const [row] = await db.query(
        `SELECT state, response_status FROM idempotency_keys WHERE partner_id = $1 AND key = $2`,
        [partnerId, key],
      );
      expect(row).toEqual({ state: 'completed', response_status: 201 });
    });
  });

  /**
   * The POSTs that keep their own replay (webhook endpoints, platform connections, secret rotations) take their key
   * with reserveForOwnReplay, under a fingerprint of their own. A claim of another request whose lock ran out is
   * that other request's key within its retention: a different request naming it answers 422, as the contract says.
   */
  describe('reserving a key for a request that keeps its own replay', () => {
    it('does not take over the claim of another request whose lock ran out', async () => {
      const key = `k-${process.pid}-own-replay-stale-lock`;
      await staleClaim(key, 'hash-of-a-payout-request');
      const refused = await db
        .transaction((tx) => keys.reserveForOwnReplay(tx, partnerId, key, 'webhook-endpoints:abc'))
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(refused).toBeInstanceOf(ProblemException);
      expect((refused as ProblemException).getStatus()).toBe(422);
      const [row] = await db.query(
        `SELECT request_hash, state FROM idempotency_keys WHERE partner_id = $1 AND key = $2`,
        [partnerId, key],
      );
      expect(row).toEqual({ request_hash: 'hash-of-a-payout-request', state: 'in_progress' });
      // The retry of the request that holds the key still takes it over.
      expect(await keys.claim(partnerId, key, 'hash-of-a-payout-request')).toEqual({
        kind: 'claimed',
        token: expect.any(String),
      });
    });
  });
});
