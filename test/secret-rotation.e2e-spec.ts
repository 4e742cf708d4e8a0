import { RedisService } from '../src/redis/redis.module';
import { PlatformConnectionsService } from '../src/webhooks/platform-connections.service';
import { RetentionSweeper } from '../src/partners/retention.sweeper';
import { MAX_PREVIOUS_SECRETS } from '../src/partners/secret-rotation';
import { bearer, createPartner, startApp, TestApp } from './support/app';
import { MovableClock } from './support/movable-clock';
import { expectProblem } from './support/problem';
import { Connection, createConnection, deliver, payoutEvent, stripeEvent } from './support/webhooks';

const DAY_MS = 24 * 3600 * 1000;

/**
 * Two api replicas on one database and one Redis, on one movable clock, so a rotation on one is seen by the
 * other and the old secret's window can run out without waiting.
 */
describe('signing secret rotation (e2e)', () => {
  const clock = new MovableClock();
  let a: TestApp;
  let b: TestApp;
  let partner: { id: string; apiKey: string };

  beforeAll(async () => {
    a = await startApp({}, { clock });
    b = await startApp({}, { clock });
    partner = await createPartner(a.http);
  });

  afterAll(async () => {
    await a.close();
    await b.close();
  });

  const rotate = (t: TestApp, connection: Connection, body: Record<string, unknown> = {}, key?: string) => {
    const req = t.http
      .post(`/v1/platform-connections/${connection.id}/rotate-secret`)
      .set(bearer(partner.apiKey));
    return (key ? req.set('Idempotency-Key', key) : req).send(body);
  };
  /** POST /v1/platform-connections for upwork under `key`: a first creation, or a repeat of it. */
  const createUnder = (key: string) =>
    a.http
      .post('/v1/platform-connections')
      .set(bearer(partner.apiKey))
      .set('Idempotency-Key', key)
      .send({ platform: 'upwork' })
      .expect(201);
  const newKey = () => `create-${Date.now()}-${Math.random()}`;
  const event = (connection: Connection) => (connection.scheme === 'stripe' ? stripeEvent() : payoutEvent());
  const signedWith = (t: TestApp, connection: Connection, secret: string) =>
    deliver(t.http, connection, event(connection), { secret, date: clock.now() });

  it.each(['upwork', 'stripe'])(
    'verifies %s deliveries with the new secret at once, and with the old one until its window ends',
    async (platform) => {
      const connection = await createConnection(a.http, partner.apiKey, platform);
      await signedWith(b, connection, connection.signingSecret).expect(202);

      const res = await rotate(a, connection).expect(200);
      expect(res.body).toEqual({
        id: connection.id,
        platform,
        scheme: connection.scheme,
        webhookUrl: connection.webhookUrl,
        signingSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
        previousSecretExpiresAt: expect.any(String),
      });
      const expiresAt = Date.parse(res.body.previousSecretExpiresAt);
      expect(Math.abs(expiresAt - (clock.now().getTime() + DAY_MS))).toBeLessThan(60_000);
      expect(res.body.signingSecret).not.toBe(connection.signingSecret);
      const got = await b.http
        .get(`/v1/platform-connections/${connection.id}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(got.body.previousSecretExpiresAt).toBe(res.body.previousSecretExpiresAt);

      // b read the connection before the rotation and still holds it in memory.
      await signedWith(b, connection, res.body.signingSecret).expect(202);
      await signedWith(b, connection, connection.signingSecret).expect(202);
      clock.advance(expiresAt - clock.now().getTime());
      expectProblem(await signedWith(b, connection, connection.signingSecret), 401);
      await signedWith(b, connection, res.body.signingSecret).expect(202);
      const after = await b.http
        .get(`/v1/platform-connections/${connection.id}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(after.body.previousSecretExpiresAt).toBeNull();
    },
  );

  it('stops the old secret at once on every replica with previousSecretValidForSeconds 0', async () => {
    const connection = await createConnection(a.http, partner.apiKey);
    await signedWith(b, connection, connection.signingSecret).expect(202);
    const rotated = await rotate(a, connection, { previousSecretValidForSeconds: 0 }).expect(200);
    expect(rotated.body.previousSecretExpiresAt).toBeNull();
    expectProblem(await signedWith(b, connection, connection.signingSecret), 401);
    expectProblem(await signedWith(a, connection, connection.signingSecret), 401);
    await signedWith(b, connection, rotated.body.signingSecret).expect(202);
  });

  it('keeps the secrets rotations replaced, the newest MAX_PREVIOUS_SECRETS, until a rotation with 0 ends them', async () => {
    const connection = await createConnection(a.http, partner.apiKey);
    const secrets = [connection.signingSecret];
    // Repeated without an Idempotency-Key, as a retry after a lost answer would be: the secret in use survives.
    for (let i = 0; i <= MAX_PREVIOUS_SECRETS; i++) {
      secrets.push((await rotate(a, connection).expect(200)).body.signingSecret);
    }
    expectProblem(await signedWith(b, connection, secrets[0]), 401);
    for (const secret of secrets.slice(1)) await signedWith(b, connection, secret).expect(202);

    const ended = await rotate(a, connection, { previousSecretValidForSeconds: 0 }).expect(200);
    for (const secret of secrets) expectProblem(await signedWith(b, connection, secret), 401);
    await signedWith(b, connection, ended.body.signingSecret).expect(202);
    const got = await a.http.get(`/v1/platform-connections/${connection.id}`).set(bearer(partner.apiKey));
    expect(got.body.previousSecretExpiresAt).toBeNull();
  });

  it('answers a repeated creation with the secret it first answered, even after a rotation', async () => {
    const key = newKey();
    const create = () => createUnder(key);
    const first = await create();
    await rotate(a, first.body).expect(200);
    const again = await create();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('answers a repeated rotation with the same Idempotency-Key with the same secret, rotating once', async () => {
    const connection = await createConnection(a.http, partner.apiKey);
    const key = `rotate-${connection.id}`;
    const first = await rotate(a, connection, {}, key).expect(200);
    const again = await rotate(b, connection, {}, key).expect(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // The secret the platform signs with until it moves over still verifies: the repeat did not rotate again.
    await signedWith(b, connection, connection.signingSecret).expect(202);
    const [{ n }] = await a.db.query(
      `SELECT count(*)::int AS n FROM platform_connection_rotations WHERE connection_id = $1`,
      [connection.id],
    );
    expect(n).toBe(1);
    expectProblem(await rotate(a, connection, { previousSecretValidForSeconds: 60 }, key), 422);
    // Malformed is still another request for that key.
    expectProblem(await rotate(a, connection, { previousSecretValidForSeconds: 999_999_999 }, key), 422);
    expectProblem(
      await rotate(a, connection, { previousSecretValidForSeconds: 999_999_999 }, `${key}-new`),
      400,
    );
  });

  it('hands out no ended secret again once a rotation ends them at once, not even to a repeat', async () => {
    const key = newKey();
    const create = () => createUnder(key);
    const created = await create();
    const rotateKey = `rotate-${created.body.id}`;
    const rotated = await rotate(a, created.body, {}, rotateKey).expect(200);
    const ended = await rotate(a, created.body, { previousSecretValidForSeconds: 0 }).expect(200);

    expect((await create()).body.signingSecret).toBe(ended.body.signingSecret);
    const repeat = await rotate(a, created.body, {}, rotateKey).expect(200);
    expect(repeat.headers['idempotent-replayed']).toBeUndefined();
    expect([created.body.signingSecret, rotated.body.signingSecret]).not.toContain(repeat.body.signingSecret);
  });

  it('stores every secret encrypted, never in clear', async () => {
    const created = await createUnder(newKey());
    const rotated = await rotate(a, created.body, {}, `rotate-${created.body.id}`).expect(200);
    const [row] = await a.db.query(
      `SELECT c.secret_ciphertext, c.previous_secrets::text AS previous, c.created_secret_ciphertext,
              r.secret_ciphertext AS kept
       FROM platform_connections c JOIN platform_connection_rotations r ON r.connection_id = c.id
       WHERE c.id = $1`,
      [created.body.id],
    );
    const stored = Buffer.concat(Object.values(row).map((v) => Buffer.from(v as Buffer | string)));
    for (const secret of [created.body.signingSecret, rotated.body.signingSecret]) {
      expect(stored.includes(Buffer.from(secret, 'utf8'))).toBe(false);
      expect(stored.includes(Buffer.from(secret.slice('whsec_'.length), 'base64'))).toBe(false);
    }
  });

  it('forgets the copies kept for repeats once their keys are past retention, and the key rotates anew', async () => {
    const connection = await createConnection(a.http, partner.apiKey);
    const key = `rotate-${connection.id}`;
    const first = await rotate(a, connection, {}, key).expect(200);
    await a.db.query(
      `UPDATE platform_connection_rotations SET created_at = now() - interval '49 hours' WHERE connection_id = $1`,
      [connection.id],
    );
    await a.db.query(
      `UPDATE idempotency_keys SET created_at = now() - interval '49 hours' WHERE partner_id = $1 AND key = $2`,
      [partner.id, key],
    );
    expect(await a.app.get(RetentionSweeper).sweep()).toBeGreaterThanOrEqual(2);
    const [log] = await a.db.query(
      `SELECT idempotency_key, secret_ciphertext FROM platform_connection_rotations WHERE connection_id = $1`,
      [connection.id],
    );
    expect(log).toEqual({ idempotency_key: null, secret_ciphertext: null });
    const keys = await a.db.query(`SELECT 1 FROM idempotency_keys WHERE partner_id = $1 AND key = $2`, [
      partner.id,
      key,
    ]);
    expect(keys).toEqual([]);
    const again = await rotate(a, connection, {}, key).expect(200);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.body.signingSecret).not.toBe(first.body.signingSecret);
  });

  it('forgets the copy of a first secret once the creation’s key is past retention', async () => {
    const created = await createUnder(newKey());
    const copy = `SELECT created_secret_ciphertext IS NOT NULL AS kept FROM platform_connections WHERE id = $1`;
    expect((await a.db.query(copy, [created.body.id]))[0].kept).toBe(true);
    await a.db.query(
      `UPDATE platform_connections SET created_at = now() - interval '49 hours' WHERE id = $1`,
      [created.body.id],
    );
    await a.app.get(RetentionSweeper).sweep();
    expect((await a.db.query(copy, [created.body.id]))[0].kept).toBe(false);
  });

  it('answers 404 for another partner’s connection or an unknown one, and changes nothing', async () => {
    const connection = await createConnection(a.http, partner.apiKey);
    const stranger = await createPartner(a.http);
    expectProblem(
      await a.http
        .post(`/v1/platform-connections/${connection.id}/rotate-secret`)
        .set(bearer(stranger.apiKey))
        .send({}),
      404,
    );
    expectProblem(
      await a.http
        .post('/v1/platform-connections/00000000-0000-4000-8000-000000000000/rotate-secret')
        .set(bearer(partner.apiKey))
        .send({}),
      404,
    );
    await signedWith(b, connection, connection.signingSecret).expect(202);
    const [row] = await a.db.query(`SELECT previous_secrets FROM platform_connections WHERE id = $1`, [
      connection.id,
    ]);
    expect(row.previous_secrets).toEqual([]);
  });

  it.each([-1, 604_801, 1.5, '60'])(
    'refuses previousSecretValidForSeconds %p with 400 naming it',
    async (value) => {
      const connection = await createConnection(a.http, partner.apiKey);
      const res = await rotate(a, connection, { previousSecretValidForSeconds: value });
      expectProblem(res, 400);
      expect(new Set(res.body.errors.map((e: { field: string }) => e.field))).toEqual(
        new Set(['previousSecretValidForSeconds']),
      );
      await signedWith(b, connection, connection.signingSecret).expect(202);
    },
  );

  it('deletes a connection: every replica answers 404 to its webhooks at once, and its payouts stay', async () => {
    const connection = await createConnection(a.http, partner.apiKey);
    const kept = await signedWith(b, connection, connection.signingSecret).expect(202);
    const del = (t: TestApp, apiKey = partner.apiKey) =>
      t.http.delete(`/v1/platform-connections/${connection.id}`).set(bearer(apiKey));
    const stranger = await createPartner(a.http);
    expectProblem(await del(a, stranger.apiKey), 404);
    await signedWith(b, connection, connection.signingSecret).expect(202);

    await del(a).expect(204);
    // b holds the connection in memory from the deliveries before; the epoch tells it the row changed.
    expectProblem(await signedWith(b, connection, connection.signingSecret), 404);
    expectProblem(await signedWith(a, connection, connection.signingSecret), 404);
    expectProblem(await del(b), 404);
    expectProblem(
      await b.http.get(`/v1/platform-connections/${connection.id}`).set(bearer(partner.apiKey)),
      404,
    );
    expectProblem(await rotate(b, connection), 404);
    const listed = await b.http
      .get('/v1/platform-connections?limit=100')
      .set(bearer(partner.apiKey))
      .expect(200);
    expect(listed.body.data.map((c: { id: string }) => c.id)).not.toContain(connection.id);
    const [event] = await a.db.query(
      `SELECT payout_id FROM webhook_events WHERE connection_id = $1 AND event_id = $2`,
      [connection.id, kept.body.eventId],
    );
    const payout = await a.http.get(`/v1/payouts/${event.payout_id}`).set(bearer(partner.apiKey)).expect(200);
    expect(payout.body.connectionId).toBe(connection.id);
  });

  it('keeps a deleted connection refused after Redis lost its keys (restarted empty)', async () => {
    const connection = await createConnection(a.http, partner.apiKey);
    const epochKey = PlatformConnectionsService.rotationEpochKey(connection.id);
    const redis = b.app.get(RedisService).client;
    // Read first while its epoch is missing, as after a restart, then deleted on the other replica.
    await redis.del(epochKey);
    await signedWith(b, connection, connection.signingSecret).expect(202);
    await a.http.delete(`/v1/platform-connections/${connection.id}`).set(bearer(partner.apiKey)).expect(204);
    expectProblem(await signedWith(b, connection, connection.signingSecret), 404);
    await redis.del(epochKey);
    expectProblem(await signedWith(b, connection, connection.signingSecret), 404);
    expectProblem(await signedWith(b, connection, connection.signingSecret), 404);
  });

  it('rotates with no body at all', async () => {
    const connection = await createConnection(a.http, partner.apiKey);
    const res = await a.http
      .post(`/v1/platform-connections/${connection.id}/rotate-secret`)
      .set(bearer(partner.apiKey))
      .expect(200);
    expect(res.body.signingSecret).not.toBe(connection.signingSecret);
  });
});
