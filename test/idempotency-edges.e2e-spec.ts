import { bearer, createFreelancer, createPartner, startApp, TestApp, unique } from './support/app';
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../src/common/canonical-json';
import { expectProblem } from './support/problem';

/** Idempotency-Key edges: bodies no fingerprint can hold, repeats after a deletion, concurrent first requests. */
describe('Idempotency-Key edges (e2e)', () => {
  let t: TestApp;
  let partner: { id: string; apiKey: string; apiKeyId: string };

  beforeAll(async () => {
    t = await startApp();
    partner = await createPartner(t.http);
  });

  afterAll(async () => {
    await t.close();
  });

  const raw = (path: string, key: string | null, text: string) => {
    const req = t.http.post(path).set(bearer(partner.apiKey)).set('Content-Type', 'application/json');
    return (key ? req.set('Idempotency-Key', key) : req).send(text);
  };

  describe('a body holding a number JSON reads as Infinity (1e400)', () => {
    it('answers 400 on POST /v1/freelancers with a key, as it does without one', async () => {
      const text = `{"externalRef":1e400,"name":"A","cnic":"35202-1234567-1"}`;
      expectProblem(await raw('/v1/freelancers', null, text), 400);
      expectProblem(await raw('/v1/freelancers', unique('inf'), text), 400);
    });

    it('answers 400 on POST /v1/quotes with a key, as it does without one', async () => {
      const text = `{"platform":"upwork","amount":"10.00","currency":"USD","accountKind":"bank_fcy","x":-1e999}`;
      expectProblem(await raw('/v1/quotes', null, text), 400);
      expectProblem(await raw('/v1/quotes', unique('inf'), text), 400);
    });
  });

  describe('a repeat of a rotation whose connection was deleted since', () => {
    it('answers the first rotation again (same status, same body), as a repeated creation does', async () => {
      const created = await t.http
        .post('/v1/platform-connections')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', unique('create'))
        .send({ platform: 'upwork' })
        .expect(201);
      const key = unique('rotate');
      const rotate = () =>
        t.http
          .post(`/v1/platform-connections/${created.body.id}/rotate-secret`)
          .set(bearer(partner.apiKey))
          .set('Idempotency-Key', key)
          .send({});
      const first = await rotate().expect(200);
      await t.http
        .delete(`/v1/platform-connections/${created.body.id}`)
        .set(bearer(partner.apiKey))
        .expect(204);
      const again = await rotate();
      expect(again.status).toBe(first.status);
      expect(again.body).toEqual(first.body);
    });
  });
  describe('a refusal under a key', () => {
    it('names the key in its first answer as in its replay', async () => {
      const externalRef = unique('twice');
      const body = { externalRef, name: 'A', cnic: '35202-1234567-1' };
      await t.http.post('/v1/freelancers').set(bearer(partner.apiKey)).send(body).expect(201);
      const key = unique('refused');
      const send = () =>
        t.http.post('/v1/freelancers').set(bearer(partner.apiKey)).set('Idempotency-Key', key).send(body);
      const first = await send();
      const replay = await send();
      expectProblem(first, 409);
      expect(replay.body).toEqual(first.body);
      expect([first.headers['idempotency-key'], replay.headers['idempotency-key']]).toEqual([key, key]);
      expect(replay.headers['idempotent-replayed']).toBe('true');
    });
  });

  describe('a repeat that writes the path id in capitals', () => {
    it('is the same request: it replays the first answer; another id under the key answers 422', async () => {
      const [first, other] = [
        await createFreelancer(t.http, partner.apiKey, {}, null),
        await createFreelancer(t.http, partner.apiKey, {}, null),
      ];
      const key = unique('case');
      const account = {
        kind: 'bank_fcy',
        institution: 'Meezan Bank',
        iban: 'PK36SCBL0000001123456702',
        title: 'A',
      };
      const add = (freelancerId: string) =>
        t.http
          .post(`/v1/freelancers/${freelancerId}/accounts`)
          .set(bearer(partner.apiKey))
          .set('Idempotency-Key', key)
          .send(account);
      const created = await add(first.id).expect(201);
      const again = await add(first.id.toUpperCase()).expect(201);
      expect(again.body).toEqual(created.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expectProblem(await add(other.id), 422);
      const listed = await t.http.get(`/v1/freelancers/${first.id}`).set(bearer(partner.apiKey)).expect(200);
      expect(listed.body.accounts).toHaveLength(1);
    });
  });

  describe('a key recorded before fingerprints read the route (a deploy)', () => {
    it('still replays its answer to the same request, whose fingerprint was its method, URL and body', async () => {
      const freelancer = await createFreelancer(t.http, partner.apiKey, {}, null);
      const path = `/v1/freelancers/${freelancer.id}/accounts`;
      const body = {
        kind: 'bank_fcy',
        institution: 'Meezan Bank',
        iban: 'PK36SCBL0000001123456702',
        title: 'A',
      };
      const key = unique('deploy');
      const first = { id: randomUUID(), recordedBefore: true };
      const hash = createHash('sha256')
        .update(`POST ${path}\n${canonicalJson(body)}`)
        .digest('hex');
      await t.db.query(
        `INSERT INTO idempotency_keys (partner_id, key, request_hash, state, locked_until, response_status, response_body)
         VALUES ($1, $2, $3, 'completed', now(), 201, $4)`,
        [partner.id, key, hash, JSON.stringify(first)],
      );
      const again = await t.http
        .post(path)
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', key)
        .send(body)
        .expect(201);
      expect(again.body).toEqual(first);
    });
  });

  describe('concurrent requests under one key run once', () => {
    const many = <T>(n: number, f: () => Promise<T>) => Promise.all(Array.from({ length: n }, f));

    it('accounts, connections, endpoints and rotations', async () => {
      const fl = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .send({ externalRef: unique('conc'), name: 'A', cnic: '35202-1234567-1' })
        .expect(201);
      const accountKey = unique('acc');
      const accounts = await many(8, () =>
        t.http
          .post(`/v1/freelancers/${fl.body.id}/accounts`)
          .set(bearer(partner.apiKey))
          .set('Idempotency-Key', accountKey)
          .send({
            kind: 'bank_fcy',
            institution: 'Meezan Bank',
            iban: 'PK36SCBL0000001123456702',
            title: 'A',
          }),
      );
      expect(accounts.map((r) => r.status)).toEqual(Array(8).fill(201));
      expect(new Set(accounts.map((r) => r.body.id)).size).toBe(1);

      const connectionKey = unique('conn');
      const connections = await many(8, () =>
        t.http
          .post('/v1/platform-connections')
          .set(bearer(partner.apiKey))
          .set('Idempotency-Key', connectionKey)
          .send({ platform: 'upwork' }),
      );
      expect(connections.map((r) => r.status)).toEqual(Array(8).fill(201));
      expect(new Set(connections.map((r) => r.body.signingSecret)).size).toBe(1);
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM platform_connections WHERE partner_id = $1 AND idempotency_key = $2`,
        [partner.id, connectionKey],
      );
      expect(n).toBe(1);

      const rotationKey = unique('rot');
      const rotations = await many(8, () =>
        t.http
          .post(`/v1/platform-connections/${connections[0].body.id}/rotate-secret`)
          .set(bearer(partner.apiKey))
          .set('Idempotency-Key', rotationKey)
          .send({}),
      );
      expect(rotations.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(new Set(rotations.map((r) => r.body.signingSecret)).size).toBe(1);
      const [{ r }] = await t.db.query(
        `SELECT count(*)::int AS r FROM platform_connection_rotations WHERE connection_id = $1`,
        [connections[0].body.id],
      );
      expect(r).toBe(1);

      const endpointKey = unique('ep');
      const endpoints = await many(8, () =>
        t.http
          .post('/v1/webhook-endpoints')
          .set(bearer(partner.apiKey))
          .set('Idempotency-Key', endpointKey)
          .send({ url: 'https://partner.example/hooks' }),
      );
      expect(new Set(endpoints.map((e) => e.status))).toEqual(new Set([201]));
      expect(new Set(endpoints.map((e) => e.body.id)).size).toBe(1);
    });
  });
});
