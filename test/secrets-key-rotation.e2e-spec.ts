import { randomBytes } from 'node:crypto';
import { sealSecret, SecretBoxError, SecretKeys } from '../src/common/secret-box';
import { ENDPOINT_SECRETS } from '../src/notifications/webhook-endpoints.service';
import { MetricsService } from '../src/ops/metrics.service';
import { SecretResealer } from '../src/partners/secret-resealer.service';
import {
  countSealedElsewhere,
  openCurrent,
  ROTATED_SECRET_TABLES,
  workingPrevious,
} from '../src/partners/secret-rotation';
import { bearer, createPartner, startApp, TestApp, unique } from './support/app';
import { OwnDatabase } from './support/own-database';
import { Connection, deliver, payoutEvent } from './support/webhooks';

const base64 = (key: Buffer) => key.toString('base64');

/**
 * SECRETS_KEY rotated: secrets stored under the old key keep working while it is given as decrypt-only, the worker
 * seals them again with the new one, and then the old key can go. A database of its own: a pass reads every stored
 * secret, and on the run's shared one those of other suites are sealed with a key this suite does not give.
 */
describe('SECRETS_KEY rotation (e2e)', () => {
  const own = new OwnDatabase('secrets_key');
  const env = { DATABASE_URL: own.url, QUEUE_PREFIX: `${process.env.QUEUE_PREFIX}:secrets-key` };
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  let before: TestApp;
  let during: TestApp;
  let after: TestApp | undefined;
  let partner: { id: string; apiKey: string };

  beforeAll(async () => {
    await own.create();
    before = await startApp({ ...env, SECRETS_KEY: base64(oldKey) });
    during = await startApp({
      ...env,
      SECRETS_KEY: base64(newKey),
      SECRETS_KEYS_DECRYPT_ONLY: base64(oldKey),
    });
    partner = await createPartner(before.http);
  });

  afterAll(async () => {
    await before.close();
    await during.close();
    await after?.close();
    await own.drop();
  });

  const post = (t: TestApp, path: string, key: string, body: Record<string, unknown>) =>
    t.http.post(path).set(bearer(partner.apiKey)).set('Idempotency-Key', key).send(body);
  const countLeft = async (keys: SecretKeys) => {
    let left = 0;
    for (const tables of Object.values(ROTATED_SECRET_TABLES)) {
      left += await countSealedElsewhere(during.db, keys, tables);
    }
    return left;
  };

  it('keeps every stored secret working across the change of key, and leaves none for the old key', async () => {
    // Under the old key: a connection and an endpoint, each created and rotated under an Idempotency-Key, so
    // each holds a current secret, a replaced one still working, its first secret and a rotation's replay copy.
    const connectionKey = unique('create-connection');
    const created = await post(before, '/v1/platform-connections', connectionKey, {
      platform: 'upwork',
    }).expect(201);
    const connection: Connection = created.body;
    const rotateConnection = unique('rotate-connection');
    const rotated = await post(
      before,
      `/v1/platform-connections/${connection.id}/rotate-secret`,
      rotateConnection,
      {},
    ).expect(200);
    const endpointKey = unique('create-endpoint');
    const endpoint = await post(before, '/v1/webhook-endpoints', endpointKey, {
      url: 'https://partner.example/hooks',
    }).expect(201);
    const rotateEndpoint = unique('rotate-endpoint');
    const endpointRotated = await post(
      before,
      `/v1/webhook-endpoints/${endpoint.body.id}/rotate-secret`,
      rotateEndpoint,
      {},
    ).expect(200);

    // With the new key sealing and the old one given to open: everything stored so far still works.
    const newOnly = new SecretKeys(newKey);
    expect(await countLeft(newOnly)).toBeGreaterThanOrEqual(4);
    const signed = (t: TestApp, secret: string) =>
      deliver(t.http, connection, payoutEvent({ freelancerRef: unique('fl') }), { secret });
    await signed(during, rotated.body.signingSecret).expect(202);
    await signed(during, connection.signingSecret).expect(202);

    const resealer = during.app.get(SecretResealer);
    expect(await resealer.pass()).toMatch(/^Sealed \d+ stored secrets again/);
    expect(await countLeft(newOnly)).toBe(0);
    const metrics = await during.app
      .get(MetricsService)
      .registry.getSingleMetricAsString('stored_secrets_not_under_current_key');
    expect(metrics).toContain('stored_secrets_not_under_current_key{kind="connections"} 0');
    expect(metrics).toContain('stored_secrets_not_under_current_key{kind="endpoints"} 0');
    expect(await resealer.pass()).toBeNull();

    // The old key dropped: the current and the replaced secrets verify, and repeats answer as before.
    after = await startApp({ ...env, SECRETS_KEY: base64(newKey) });
    await signed(after, rotated.body.signingSecret).expect(202);
    await signed(after, connection.signingSecret).expect(202);
    const repeatCreation = await post(after, '/v1/platform-connections', connectionKey, {
      platform: 'upwork',
    }).expect(201);
    expect(repeatCreation.body.signingSecret).toBe(connection.signingSecret);
    const repeatRotation = await post(
      after,
      `/v1/platform-connections/${connection.id}/rotate-secret`,
      rotateConnection,
      {},
    ).expect(200);
    expect(repeatRotation.body.signingSecret).toBe(rotated.body.signingSecret);
    const repeatEndpoint = await post(after, '/v1/webhook-endpoints', endpointKey, {
      url: 'https://partner.example/hooks',
    }).expect(201);
    expect(repeatEndpoint.body.secret).toBe(endpoint.body.secret);
    const repeatEndpointRotation = await post(
      after,
      `/v1/webhook-endpoints/${endpoint.body.id}/rotate-secret`,
      rotateEndpoint,
      {},
    ).expect(200);
    expect(repeatEndpointRotation.body.secret).toBe(endpointRotated.body.secret);
    const [row] = await after.db.query('SELECT * FROM webhook_endpoints WHERE id = $1', [endpoint.body.id]);
    expect(openCurrent(newOnly, ENDPOINT_SECRETS, row)).toBe(endpointRotated.body.secret);
    expect(workingPrevious(newOnly, ENDPOINT_SECRETS, row, Date.now()).map((p) => p.secret)).toEqual([
      endpoint.body.secret,
    ]);
    // The old key alone no longer opens them: they were sealed again, not copied.
    expect(() => openCurrent(new SecretKeys(oldKey), ENDPOINT_SECRETS, row)).toThrow(SecretBoxError);
  });

  it('leaves a secret no given key opens as it is, names its row and counts it, and reseals the others', async () => {
    const stray = randomBytes(32);
    const a = await post(before, '/v1/platform-connections', unique('a'), { platform: 'upwork' }).expect(201);
    const b = await post(before, '/v1/platform-connections', unique('b'), { platform: 'fiverr' }).expect(201);
    const unreadable = sealSecret(new SecretKeys(stray), 'whsec_lost', a.body.id);
    await during.db.query('UPDATE platform_connections SET secret_ciphertext = $2 WHERE id = $1', [
      a.body.id,
      unreadable,
    ]);
    // b keeps a replaced secret no given key opens, expired: it holds nothing back, and is dropped.
    const expiresAt = new Date(Date.now() - 1000).toISOString();
    const expired = sealSecret(new SecretKeys(stray), 'whsec_old', `${b.body.id}:previous:${expiresAt}`);
    await during.db.query('UPDATE platform_connections SET previous_secrets = $2::jsonb WHERE id = $1', [
      b.body.id,
      JSON.stringify([{ sealed: expired.toString('base64'), expiresAt }]),
    ]);

    expect(await during.app.get(SecretResealer).pass()).toMatch(/^Sealed \d+ stored secrets again/);
    const newOnly = new SecretKeys(newKey);
    expect(await countSealedElsewhere(during.db, newOnly, ROTATED_SECRET_TABLES.connections)).toBe(1);
    const [left] = await during.db.query('SELECT secret_ciphertext FROM platform_connections WHERE id = $1', [
      a.body.id,
    ]);
    expect(Buffer.compare(left.secret_ciphertext, unreadable)).toBe(0);
    const [resealed] = await during.db.query(
      `SELECT substring(secret_ciphertext FROM 1 FOR 5) = $2 AS current, previous_secrets
       FROM platform_connections WHERE id = $1`,
      [b.body.id, newOnly.currentPrefix],
    );
    expect(resealed).toEqual({ current: true, previous_secrets: [] });
    const metrics = await during.app
      .get(MetricsService)
      .registry.getSingleMetricAsString('stored_secrets_not_under_current_key');
    expect(metrics).toContain('stored_secrets_not_under_current_key{kind="connections"} 1');
  });
});
