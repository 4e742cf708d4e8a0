import {
  bearer,
  createFreelancer,
  createPartner,
  ops,
  pakistaniIban,
  startApp,
  TestApp,
  unique,
} from './support/app';
import { randomInt, randomUUID } from 'node:crypto';
import { AddressInfo, connect } from 'node:net';
import { API_KEY_CACHE_TTL_MS, ApiKeyCache } from '../src/partners/api-key-cache';
import { IdempotencyService } from '../src/partners/idempotency.service';
import { PartnersService } from '../src/partners/partners.service';
import { RedisService } from '../src/redis/redis.module';
import { MovableClock } from './support/movable-clock';
import { commitOnceBlocked } from './support/held-transaction';
import { expectProblem } from './support/problem';
import { rawExchange } from './support/raw-http';
import { expectExactLimit, fillWindow } from './support/rate-limit';
import { insertConnection, insertPayout } from './support/payout-rows';

describe('foundation (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ PARTNER_RATE_LIMIT_PER_SECOND: '1000' });
  });

  afterAll(async () => {
    await t.close();
  });

  describe('ops bootstrap', () => {
    it('creates a partner and shows its key once', async () => {
      const res = await t.http.post('/v1/ops/partners').set(ops).send({ name: 'Acme Fintech' }).expect(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        name: 'Acme Fintech',
        apiKey: expect.stringMatching(/^pk_[A-Za-z0-9_-]{43}$/),
        apiKeyId: expect.any(String),
      });
      const [stored] = await t.db.query(`SELECT key_hash, key_hint FROM api_keys WHERE id = $1`, [
        res.body.apiKeyId,
      ]);
      expect(stored.key_hash.toString('utf8')).not.toContain(res.body.apiKey);
      expect(stored.key_hint).not.toBe(res.body.apiKey);
    });

    it('refuses ops calls without the ops token', async () => {
      const missing = await t.http.post('/v1/ops/partners').send({ name: 'x' });
      expectProblem(missing, 401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="payout-router"');
      expectProblem(
        await t.http.post('/v1/ops/partners').set(bearer('wrong-token')).send({ name: 'x' }),
        401,
      );
    });

    it.each(['', '   '])('names the invalid field (name %j)', async (name) => {
      const res = await t.http.post('/v1/ops/partners').set(ops).send({ name });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([{ field: 'name', message: 'name must not be blank' }]);
    });

    it('counts a name in code points, as the database does: 200 pass, 201 are refused naming the field', async () => {
      // 'a' + VS16 is one character to class-validator's MaxLength and two to the column's length() CHECK.
      const over = await t.http
        .post('/v1/ops/partners')
        .set(ops)
        .send({ name: 'a\ufe0f'.repeat(101) });
      expectProblem(over, 400);
      expect(over.body.errors).toEqual([{ field: 'name', message: 'name must be at most 200 characters' }]);
      const name = '\u2764\ufe0f'.repeat(100);
      const res = await t.http.post('/v1/ops/partners').set(ops).send({ name }).expect(201);
      expect(res.body.name).toBe(name);
    });
  });

  describe('partner keys', () => {
    it('rejects missing, malformed and unknown keys', async () => {
      const missing = await t.http.get('/v1/freelancers');
      expectProblem(missing, 401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="payout-router"');
      for (const authorization of ['Bearer nope', `Bearer pk_${'A'.repeat(43)}`]) {
        const refused = await t.http.get('/v1/freelancers').set({ Authorization: authorization });
        expectProblem(refused, 401);
        expect(refused.headers['www-authenticate']).toBe(
          'Bearer realm="payout-router", error="invalid_token"',
        );
      }
      expectProblem(await t.http.get('/v1/freelancers').set({ Authorization: 'Basic abc' }), 401);
    });

    it('rotates: a second key works, and a revoked key answers 401 at once', async () => {
      const partner = await createPartner(t.http);
      const second = await t.http.post(`/v1/ops/partners/${partner.id}/api-keys`).set(ops).expect(201);
      expect(second.body.apiKey).not.toBe(partner.apiKey);
      await t.http.get('/v1/freelancers').set(bearer(second.body.apiKey)).expect(200);
      await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
      await t.http.delete(`/v1/ops/partners/${partner.id}/api-keys/${partner.apiKeyId}`).set(ops).expect(204);
      expectProblem(await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)), 401);
      await t.http.get('/v1/freelancers').set(bearer(second.body.apiKey)).expect(200);
    });

    it('lists partners and their keys for ops, never a key itself', async () => {
      const partner = await createPartner(t.http, unique('listed'));
      const second = await t.http.post(`/v1/ops/partners/${partner.id}/api-keys`).set(ops).expect(201);
      await t.http.delete(`/v1/ops/partners/${partner.id}/api-keys/${partner.apiKeyId}`).set(ops).expect(204);
      const got = await t.http.get(`/v1/ops/partners/${partner.id}`).set(ops).expect(200);
      expect(got.body).toEqual({
        id: partner.id,
        name: expect.stringMatching(/^listed/),
        createdAt: expect.any(String),
        apiKeys: [
          {
            apiKeyId: partner.apiKeyId,
            hint: `${partner.apiKey.slice(0, 7)}…${partner.apiKey.slice(-4)}`,
            createdAt: expect.any(String),
            revokedAt: expect.any(String),
          },
          {
            apiKeyId: second.body.apiKeyId,
            hint: expect.any(String),
            createdAt: expect.any(String),
            revokedAt: null,
          },
        ],
      });
      const page = await t.http.get('/v1/ops/partners?limit=1').set(ops).expect(200);
      expect(page.body.data).toEqual([got.body]);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      const next = await t.http
        .get(`/v1/ops/partners?limit=1&cursor=${page.body.nextCursor}`)
        .set(ops)
        .expect(200);
      expect(next.body.data[0].id).not.toBe(partner.id);
      const text = JSON.stringify([got.body, page.body]);
      expect(text).not.toContain(partner.apiKey);
      expect(text).not.toContain(second.body.apiKey);
      expectProblem(await t.http.get(`/v1/ops/partners/${partner.id}`).set(bearer(partner.apiKey)), 401);
      expectProblem(await t.http.get('/v1/ops/partners').set(bearer(second.body.apiKey)), 401);
      expectProblem(await t.http.get('/v1/ops/partners/00000000-0000-4000-8000-000000000000').set(ops), 404);
      const bad = await t.http.get('/v1/ops/partners?limit=0').set(ops);
      expectProblem(bad, 400);
      expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['limit']);
    });

    it('answers 404 for keys of unknown partners or of another partner', async () => {
      const a = await createPartner(t.http);
      const b = await createPartner(t.http);
      await t.http
        .post(`/v1/ops/partners/00000000-0000-4000-8000-000000000000/api-keys`)
        .set(ops)
        .expect(404);
      await t.http.delete(`/v1/ops/partners/${b.id}/api-keys/${a.apiKeyId}`).set(ops).expect(404);
    });
  });

  describe('request bodies', () => {
    it('refuses a body nested deeper than 32 levels with a 400 naming it, before any validator walks it', async () => {
      const partner = await createPartner(t.http);
      const post = (body: string) =>
        t.http
          .post('/v1/freelancers')
          .set(bearer(partner.apiKey))
          .set('content-type', 'application/json')
          .send(body);
      for (const depth of [33, 125_000]) {
        const res = await post(`{"name":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`);
        expectProblem(res, 400);
        expect(res.body.errors).toEqual([{ field: 'body', message: 'must not nest deeper than 32 levels' }]);
      }
      const shallow = await post(`{"externalRef":"x","name":${'['.repeat(31)}${']'.repeat(31)}}`);
      expectProblem(shallow, 400);
      expect(shallow.body.errors.map((e: { field: string }) => e.field)).toContain('name');
    });
  });

  it('takes an empty body declared as JSON as no body: a switch that needs none runs, a create names its fields', async () => {
    const partner = await createPartner(t.http);
    const empty = (path: string, credential: Record<string, string>) =>
      t.http.post(path).set(credential).set('content-type', 'application/json').send('');
    const disabled = await empty('/v1/ops/providers/wise/disable', ops).expect(200);
    expect(disabled.body).toMatchObject({ id: 'wise', enabled: false });
    await empty('/v1/ops/providers/wise/enable', ops).expect(200);
    const created = await empty('/v1/freelancers', bearer(partner.apiKey));
    expectProblem(created, 400);
    expect(created.body.errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(['externalRef', 'name', 'cnic']),
    );
  });

  it('answers 408 to a request whose body never arrives whole, and closes the connection', async () => {
    const slow = await startApp({ HTTP_REQUEST_TIMEOUT_MS: '1000' });
    try {
      await slow.app.listen(0, '127.0.0.1');
      const { port } = slow.app.getHttpServer().address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(
        `POST /v1/webhooks/${randomUUID()} HTTP/1.1\r\nHost: localhost\r\n` +
          'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type"',
      );
      await closed;
      const answer = Buffer.concat(chunks).toString();
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 408 });
    } finally {
      await slow.close();
    }
  });

  it('answers with X-Request-Id: the caller’s when it is a plain token, a fresh UUID otherwise', async () => {
    const given = await t.http.get('/health/live').set('X-Request-Id', 'trace-42_a').expect(200);
    expect(given.headers['x-request-id']).toBe('trace-42_a');
    const refused = await t.http.get('/v1/payouts').set('X-Request-Id', 'not a token!');
    expectProblem(refused, 401);
    expect(refused.headers['x-request-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('answers a malformed percent-escape in the path with problem+json, like every other error', async () => {
    const partner = await createPartner(t.http);
    const res = await t.http.get('/v1/payouts/%E0%A4%A').set(bearer(partner.apiKey));
    expectProblem(res, 400);
    expect(res.body.detail).toBe('The request URL is not valid (a malformed percent-escape).');
  });

  it('answers a body that is not JSON with a 400 problem that says so', async () => {
    const partner = await createPartner(t.http);
    const res = await t.http
      .post('/v1/freelancers')
      .set({ ...bearer(partner.apiKey), 'content-type': 'application/json' })
      .send('{"name": ');
    expectProblem(res, 400);
    expect(res.body.detail).toBe('The request body is not valid JSON.');
  });

  it.each([
    ['__proto__', '{"__proto__":{"admin":true},"name":"A"}'],
    ['constructor.prototype', '{"constructor":{"prototype":{"admin":true}},"name":"A"}'],
  ])('refuses a %s key with 400 naming the body, and creates nothing', async (_, text) => {
    const partner = await createPartner(t.http);
    const res = await t.http
      .post('/v1/freelancers')
      .set({ ...bearer(partner.apiKey), 'content-type': 'application/json' })
      .send(text);
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([{ field: 'body', message: expect.stringContaining('"__proto__"') }]);
    const listed = await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
    expect(listed.body.data).toEqual([]);
  });

  it('refuses a key given twice in one object with 400 naming it, rather than keeping the last, and creates nothing', async () => {
    const partner = await createPartner(t.http);
    const res = await t.http
      .post('/v1/freelancers')
      .set({ ...bearer(partner.apiKey), 'content-type': 'application/json' })
      .send(`{"externalRef":"${unique('twice')}","cnic":"35202-1234567-1","name":"A","name":"B"}`);
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([{ field: 'name', message: expect.stringContaining('more than once') }]);
    const listed = await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
    expect(listed.body.data).toEqual([]);
  });

  it('refuses a body that is not UTF-8 as not JSON, rather than storing U+FFFD', async () => {
    const partner = await createPartner(t.http);
    const bytes = Buffer.concat([
      Buffer.from(`{"externalRef":"${unique('utf8')}","cnic":"35202-1234567-1","name":"A`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    // Through Fastify's inject: supertest would turn a Buffer into JSON of its own.
    const res = await t.app
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'POST',
        url: '/v1/freelancers',
        headers: { ...bearer(partner.apiKey), 'content-type': 'application/json' },
        payload: bytes,
      });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().detail).toBe('The request body is not valid JSON.');
    const listed = await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
    expect(listed.body.data).toEqual([]);
  });

  it('answers an over-long path segment with a 414 problem that says so', async () => {
    const partner = await createPartner(t.http);
    const res = await t.http.get(`/v1/freelancers/${'a'.repeat(5000)}`).set(bearer(partner.apiKey));
    expectProblem(res, 414);
    expect(res.body).toMatchObject({
      title: 'URI Too Long',
      detail: 'A path segment is longer than any identifier this API uses.',
    });
  });

  it('refuses U+0000 in a query or path parameter with a 400 naming it', async () => {
    const partner = await createPartner(t.http);
    const query = await t.http.get('/v1/freelancers?externalRef=%00').set(bearer(partner.apiKey));
    expectProblem(query, 400);
    expect(query.body.errors).toEqual([
      { field: 'externalRef', message: 'must not contain the NUL character' },
    ]);
    const path = await t.http.post('/v1/ops/providers/%00/disable').set(ops);
    expectProblem(path, 400);
    expect(path.body.errors).toEqual([
      { field: 'providerId', message: 'must not contain the NUL character' },
    ]);
  });

  it('refuses a string holding U+0000 (Postgres text cannot store it) with a 400 naming its field', async () => {
    const partner = await createPartner(t.http);
    const res = await t.http
      .post('/v1/freelancers')
      .set(bearer(partner.apiKey))
      .send({ externalRef: unique('nul'), name: 'Ayesha\u0000Khan', cnic: '35202-1234567-1' });
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([{ field: 'name', message: 'must not contain the NUL character' }]);
  });

  it('refuses text no invoice could print exactly (a control character, U+FFFF) with a 400 naming it', async () => {
    const partner = await createPartner(t.http);
    for (const [field, value] of [
      ['name', 'Ayesha\u0007Khan'],
      ['name', 'Ayesha Khan\u001b[0m'],
      ['name', 'Ayesha\uffff'],
      ['psebRegistrationNo', 'PSEB-F-\u000112345'],
    ]) {
      const res = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .send({ externalRef: unique('ctl'), name: 'Ayesha Khan', cnic: '35202-1234567-1', [field]: value });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([
        { field, message: `${field} must not contain control characters other than tab and line breaks` },
      ]);
    }
    await t.http
      .post('/v1/freelancers')
      .set(bearer(partner.apiKey))
      .send({ externalRef: unique('ctl'), name: 'Ayesha\tKhan\r\n', cnic: '35202-1234567-1' })
      .expect(201);
  });

  it('refuses a lone surrogate (the database would store U+FFFD, a validator would throw) naming its field', async () => {
    const partner = await createPartner(t.http);
    for (const [field, body] of [
      ['email', { name: 'N', email: '\ud800' }],
      ['name', { name: 'N\ud800' }],
    ] as const) {
      const res = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .send({ externalRef: unique('sur'), cnic: '35202-1234567-1', ...body });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([{ field, message: expect.stringContaining('lone surrogate') }]);
    }
    const listed = await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
    expect(listed.body.data).toEqual([]);
  });

  describe('freelancers', () => {
    let partner: { id: string; apiKey: string };

    beforeAll(async () => {
      partner = await createPartner(t.http);
    });

    it('creates, reads and finds a freelancer by externalRef', async () => {
      const ref = unique('fl');
      const created = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .send({
          externalRef: ref,
          name: 'Ayesha Khan',
          cnic: '35202-1234567-1',
          ntn: '1234567-8',
          psebRegistrationNo: 'PSEB-F-12345',
          email: 'a@example.com',
        })
        .expect(201);
      expect(created.body).toEqual(
        expect.objectContaining({ id: expect.any(String), externalRef: ref, ntn: '1234567-8', accounts: [] }),
      );
      const got = await t.http
        .get(`/v1/freelancers/${created.body.id}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(got.body.name).toBe('Ayesha Khan');
      const found = await t.http
        .get(`/v1/freelancers?externalRef=${ref}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(found.body).toEqual({
        data: [expect.objectContaining({ id: created.body.id })],
        nextCursor: null,
      });
    });

    it('answers 409 to a duplicate externalRef of the same partner, and not across partners', async () => {
      const ref = unique('dup');
      const body = { externalRef: ref, name: 'A', cnic: '35202-1234567-1' };
      await t.http.post('/v1/freelancers').set(bearer(partner.apiKey)).send(body).expect(201);
      expectProblem(await t.http.post('/v1/freelancers').set(bearer(partner.apiKey)).send(body), 409);
      const other = await createPartner(t.http);
      await t.http.post('/v1/freelancers').set(bearer(other.apiKey)).send(body).expect(201);
    });

    it.each([
      ['externalRef', { externalRef: '' }],
      ['name', { name: '' }],
      ['name', { name: '   ' }],
      ['cnic', { cnic: '3520212345671' }],
      ['ntn', { ntn: '12345678' }],
      ['psebRegistrationNo', { psebRegistrationNo: '' }],
      ['email', { email: 'not-an-email' }],
    ])('names the bad field %s', async (field, override) => {
      const res = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .send({ externalRef: unique('v'), name: 'A', cnic: '35202-1234567-1', ...override });
      expectProblem(res, 400);
      // Once: a blank text is not also too short.
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    });

    it('refuses unknown fields instead of dropping them silently', async () => {
      const res = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .send({ externalRef: unique('v'), name: 'A', cnic: '35202-1234567-1', nickname: 'x' });
      expectProblem(res, 400);
      expect(res.body.errors[0].field).toBe('nickname');
    });

    it.each(['[1,2,3]', '"a string"', '42', 'true'])(
      'refuses a body that is not a JSON object (%s) as a whole, naming body',
      async (body) => {
        const res = await t.http
          .post('/v1/freelancers')
          .set(bearer(partner.apiKey))
          .set('content-type', 'application/json')
          .send(body);
        expectProblem(res, 400);
        expect(res.body.errors).toEqual([{ field: 'body', message: 'body must be a JSON object' }]);
      },
    );

    it('lists the first 50 of many invalid fields, and says how many there were', async () => {
      const ref = unique('v');
      const unknown = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`extra${i}`, i]));
      const res = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .send({ externalRef: ref, name: 'A', cnic: '35202-1234567-1', ...unknown });
      expectProblem(res, 400);
      expect(res.body.errors).toHaveLength(50);
      expect(res.body.errors[0]).toEqual({ field: 'extra0', message: 'property extra0 should not exist' });
      expect(res.body.detail).toBe('The request has 3000 field errors; the first 50 are listed.');
      const found = await t.http
        .get(`/v1/freelancers?externalRef=${ref}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(found.body.data).toEqual([]);
    });

    it('adds dollar accounts; the first is the default', async () => {
      const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
      const first = await t.http
        .post(`/v1/freelancers/${fl.id}/accounts`)
        .set(bearer(partner.apiKey))
        .send({
          kind: 'bank_fcy',
          institution: 'Meezan Bank',
          iban: 'PK36SCBL0000001123456702',
          title: 'Ayesha Khan',
        })
        .expect(201);
      expect(first.body).toEqual(
        expect.objectContaining({ id: expect.any(String), currency: 'USD', isDefault: true }),
      );
      const second = await t.http
        .post(`/v1/freelancers/${fl.id}/accounts`)
        .set(bearer(partner.apiKey))
        .send({
          kind: 'fintech_usd',
          institution: 'Zindigi',
          iban: pakistaniIban('1234567890123456', 'JSBL'),
          title: 'A',
        })
        .expect(201);
      expect(second.body.isDefault).toBe(false);
    });

    describe('changing a freelancer', () => {
      const patch = (id: string, body: unknown, apiKey = partner.apiKey) =>
        t.http
          .patch(`/v1/freelancers/${id}`)
          .set(bearer(apiKey))
          .send(body as object);

      it('changes the fields the body names and keeps the others', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {
          ntn: '1234567-8',
          email: 'a@example.com',
        });
        const res = await patch(fl.id, { name: 'Ayesha Khan Malik', psebRegistrationNo: 'PSEB-F-99' }).expect(
          200,
        );
        expect(res.body).toEqual(
          expect.objectContaining({
            id: fl.id,
            externalRef: fl.externalRef,
            name: 'Ayesha Khan Malik',
            cnic: '35202-1234567-1',
            ntn: '1234567-8',
            psebRegistrationNo: 'PSEB-F-99',
            email: 'a@example.com',
            accounts: [expect.objectContaining({ isDefault: true })],
          }),
        );
        const got = await t.http.get(`/v1/freelancers/${fl.id}`).set(bearer(partner.apiKey)).expect(200);
        expect(got.body).toEqual(res.body);
      });

      it('clears an optional field sent as null, as a merge patch does, and refuses to clear the name', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {
          ntn: '1234567-8',
          psebRegistrationNo: 'PSEB-F-12345',
          email: 'a@example.com',
        });
        const res = await patch(fl.id, { psebRegistrationNo: null, email: null }).expect(200);
        expect(res.body).toEqual(
          expect.objectContaining({
            ntn: '1234567-8',
            psebRegistrationNo: null,
            email: null,
            name: 'Ayesha Khan',
          }),
        );
        const refused = await patch(fl.id, { name: null });
        expectProblem(refused, 400);
        expect(refused.body.errors.map((e: { field: string }) => e.field)).toEqual(['name']);
      });

      it.each([
        ['name', { name: '   ' }],
        ['name', { name: 'A\u0007B' }],
        ['ntn', { ntn: '12' }],
        ['email', { email: 'not-an-email' }],
        ['cnic', { cnic: '35202-7654321-1' }],
        ['externalRef', { externalRef: 'other' }],
        ['body', {}],
      ])('refuses a change of %s with 400 naming it, and changes nothing', async (field, body) => {
        const fl = await createFreelancer(t.http, partner.apiKey);
        const res = await patch(fl.id, body);
        expectProblem(res, 400);
        expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
        const got = await t.http.get(`/v1/freelancers/${fl.id}`).set(bearer(partner.apiKey)).expect(200);
        expect(got.body).toEqual(
          expect.objectContaining({ name: 'Ayesha Khan', externalRef: fl.externalRef }),
        );
      });

      it('answers 404 for another partner’s freelancer and changes nothing', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey);
        const stranger = await createPartner(t.http);
        expectProblem(await patch(fl.id, { name: 'Someone Else' }, stranger.apiKey), 404);
        const got = await t.http.get(`/v1/freelancers/${fl.id}`).set(bearer(partner.apiKey)).expect(200);
        expect(got.body.name).toBe('Ayesha Khan');
      });
    });

    describe('the default account', () => {
      let accountNo = 0;
      // Each account its own IBAN: a freelancer holds one IBAN once.
      const account = (overrides: Record<string, unknown> = {}) => ({
        kind: 'bank_fcy',
        institution: 'Meezan Bank',
        iban: pakistaniIban(String(++accountNo)),
        title: 'Ayesha Khan',
        ...overrides,
      });
      const addAccount = (freelancerId: string, body: Record<string, unknown>) =>
        t.http.post(`/v1/freelancers/${freelancerId}/accounts`).set(bearer(partner.apiKey)).send(body);
      const makeDefault = (freelancerId: string, accountId: string, apiKey = partner.apiKey) =>
        t.http.post(`/v1/freelancers/${freelancerId}/accounts/${accountId}/default`).set(bearer(apiKey));
      const defaults = async (freelancerId: string) => {
        const res = await t.http
          .get(`/v1/freelancers/${freelancerId}`)
          .set(bearer(partner.apiKey))
          .expect(200);
        return res.body.accounts
          .filter((a: { isDefault: boolean }) => a.isDefault)
          .map((a: { id: string }) => a.id);
      };

      it('is the first account even when the request says isDefault: false', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
        const first = await addAccount(fl.id, account({ isDefault: false })).expect(201);
        expect(first.body.isDefault).toBe(true);
      });

      it('moves to a new account added with isDefault: true, in one step', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
        const first = await addAccount(fl.id, account()).expect(201);
        const second = await addAccount(fl.id, account({ kind: 'fintech_usd', isDefault: true })).expect(201);
        expect(second.body.isDefault).toBe(true);
        expect(await defaults(fl.id)).toEqual([second.body.id]);
        const third = await addAccount(fl.id, account({ isDefault: false })).expect(201);
        expect(third.body.isDefault).toBe(false);
        expect(await defaults(fl.id)).toEqual([second.body.id]);
        expect(first.body.id).not.toBe(second.body.id);
      });

      it('moves to an existing account, and answers the same when it already is the default', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
        const first = await addAccount(fl.id, account()).expect(201);
        const second = await addAccount(fl.id, account({ title: 'A. Khan' })).expect(201);
        const moved = await makeDefault(fl.id, second.body.id).expect(200);
        expect(moved.body).toEqual({ ...second.body, isDefault: true });
        expect(await defaults(fl.id)).toEqual([second.body.id]);
        const again = await makeDefault(fl.id, second.body.id).expect(200);
        expect(again.body).toEqual(moved.body);
        await makeDefault(fl.id, first.body.id).expect(200);
        expect(await defaults(fl.id)).toEqual([first.body.id]);
      });

      it('ends with exactly one default when two requests move it at once', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
        await addAccount(fl.id, account()).expect(201);
        const others = [
          (await addAccount(fl.id, account()).expect(201)).body.id,
          (await addAccount(fl.id, account()).expect(201)).body.id,
        ];
        const answers = await Promise.all(others.map((id) => makeDefault(fl.id, id)));
        expect(answers.map((res) => res.status)).toEqual([200, 200]);
        const now = await defaults(fl.id);
        expect(now).toHaveLength(1);
        expect(others).toContain(now[0]);
      });

      it('answers 404 for an account of another freelancer, an unknown one, or another partner’s', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
        const own = await addAccount(fl.id, account()).expect(201);
        const otherFreelancer = await createFreelancer(t.http, partner.apiKey, {}, null);
        const foreign = await addAccount(otherFreelancer.id, account()).expect(201);
        expectProblem(await makeDefault(fl.id, foreign.body.id), 404);
        expectProblem(await makeDefault(fl.id, '00000000-0000-4000-8000-000000000000'), 404);
        expectProblem(await makeDefault(fl.id, 'not-a-uuid'), 404);
        const stranger = await createPartner(t.http);
        expectProblem(await makeDefault(fl.id, own.body.id, stranger.apiKey), 404);
        expect(await defaults(otherFreelancer.id)).toEqual([foreign.body.id]);
      });

      it('refuses an IBAN the freelancer already has, with 409 naming iban, also when two requests race', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
        const first = await addAccount(fl.id, account()).expect(201);
        // The same IBAN as written by hand: lower case, with spaces.
        const spaced = first.body.iban.toLowerCase().replace(/(.{4})/g, '$1 ');
        const again = await addAccount(
          fl.id,
          account({ iban: spaced, kind: 'fintech_usd', isDefault: true }),
        );
        expectProblem(again, 409);
        expect(again.body.errors).toEqual([expect.objectContaining({ field: 'iban' })]);
        expect(again.body.detail).toContain(first.body.id);
        expect(await defaults(fl.id)).toEqual([first.body.id]);
        // The database holds the rule too.
        await expect(
          t.db.query(
            `INSERT INTO dollar_accounts (freelancer_id, kind, institution, iban, title, is_default)
             VALUES ($1, 'bank_fcy', 'X', $2, 'A', false)`,
            [fl.id, first.body.iban],
          ),
        ).rejects.toThrow(/dollar_accounts_open_iban_key/);

        const racing = account();
        const answers = await Promise.all([addAccount(fl.id, racing), addAccount(fl.id, racing)]);
        expect(answers.map((res) => res.status).sort()).toEqual([201, 409]);
        // Another freelancer may hold the same IBAN (a joint account).
        const other = await createFreelancer(t.http, partner.apiKey, {}, null);
        await addAccount(other.id, { ...account(), iban: first.body.iban }).expect(201);
        const [{ n }] = await t.db.query(
          `SELECT count(*)::int AS n FROM dollar_accounts WHERE freelancer_id = $1`,
          [fl.id],
        );
        expect(n).toBe(2);
      });

      describe('closing an account', () => {
        const close = (freelancerId: string, accountId: string, apiKey = partner.apiKey) =>
          t.http.delete(`/v1/freelancers/${freelancerId}/accounts/${accountId}`).set(bearer(apiKey));

        it('takes it out of the accounts for good; its IBAN may come back as a new account', async () => {
          const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
          const first = await addAccount(fl.id, account()).expect(201);
          const second = await addAccount(fl.id, account({ kind: 'fintech_usd' })).expect(201);
          await close(fl.id, second.body.id).expect(204);
          const got = await t.http.get(`/v1/freelancers/${fl.id}`).set(bearer(partner.apiKey)).expect(200);
          expect(got.body.accounts.map((a: { id: string }) => a.id)).toEqual([first.body.id]);
          const listed = await t.http
            .get(`/v1/freelancers?externalRef=${fl.externalRef}`)
            .set(bearer(partner.apiKey))
            .expect(200);
          expect(listed.body.data[0].accounts).toEqual(got.body.accounts);
          expectProblem(await close(fl.id, second.body.id), 404);
          expectProblem(await makeDefault(fl.id, second.body.id), 404);
          const reopened = await addAccount(
            fl.id,
            account({ iban: second.body.iban, isDefault: true }),
          ).expect(201);
          expect(reopened.body.id).not.toBe(second.body.id);
          expect(await defaults(fl.id)).toEqual([reopened.body.id]);
        });

        it('refuses the default with 409 until another account is the default', async () => {
          const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
          const only = await addAccount(fl.id, account()).expect(201);
          expectProblem(await close(fl.id, only.body.id), 409);
          const next = await addAccount(fl.id, account({ isDefault: true })).expect(201);
          await close(fl.id, only.body.id).expect(204);
          expect(await defaults(fl.id)).toEqual([next.body.id]);
          // The database holds the rule too: a closed account is never the default.
          await expect(
            t.db.query(`UPDATE dollar_accounts SET closed_at = now() WHERE id = $1`, [next.body.id]),
          ).rejects.toThrow(/dollar_accounts_closed_not_default/);
        });

        /** A freelancer with a default and a second account, and a payout of theirs in `status` on the second. */
        const payoutOnSecondAccount = async (status: string) => {
          const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
          await addAccount(fl.id, account()).expect(201);
          const second = await addAccount(fl.id, account()).expect(201);
          const connectionId = await insertConnection(t.db, partner.id);
          const payoutId = await insertPayout(t.db, {
            partnerId: partner.id,
            freelancerId: fl.id,
            connectionId,
          });
          await t.db.query(`UPDATE payouts SET account_id = $2, status = $3 WHERE id = $1`, [
            payoutId,
            second.body.id,
            status,
          ]);
          return { fl, accountId: second.body.id as string, payoutId };
        };

        it.each(['routed', 'sending'])(
          'refuses an account a payout in %s is on its way to, then closes it once it is not',
          async (status) => {
            const { fl, accountId, payoutId } = await payoutOnSecondAccount(status);
            const refused = await close(fl.id, accountId);
            expectProblem(refused, 409);
            expect(refused.body.detail).toContain('1 payout(s)');
            await t.db.query(`UPDATE payouts SET status = 'failed' WHERE id = $1`, [payoutId]);
            await close(fl.id, accountId).expect(204);
          },
        );

        it('waits for a routing that holds the account, then counts its payout', async () => {
          const { fl, accountId, payoutId } = await payoutOnSecondAccount('received');
          // A routing of the payout to this account, as the pipeline does it, commits once the close waits for it.
          const closing = await commitOnceBlocked(
            t.db,
            [
              [`SELECT 1 FROM dollar_accounts WHERE id = $1 FOR SHARE`, [accountId]],
              [`UPDATE payouts SET status = 'routed' WHERE id = $1`, [payoutId]],
            ],
            // `then` sends the request now.
            () => close(fl.id, accountId).then((res) => res),
            'the close to wait for the routing',
          );
          expectProblem(closing, 409);
          const [row] = await t.db.query(`SELECT closed_at FROM dollar_accounts WHERE id = $1`, [accountId]);
          expect(row.closed_at).toBeNull();
        });

        it('answers 404 for another freelancer’s account, an unknown one, or another partner', async () => {
          const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
          await addAccount(fl.id, account()).expect(201);
          const own = await addAccount(fl.id, account()).expect(201);
          const other = await createFreelancer(t.http, partner.apiKey, {}, null);
          await addAccount(other.id, account()).expect(201);
          const foreign = await addAccount(other.id, account()).expect(201);
          expectProblem(await close(fl.id, foreign.body.id), 404);
          expectProblem(await close(fl.id, '00000000-0000-4000-8000-000000000000'), 404);
          const stranger = await createPartner(t.http);
          expectProblem(await close(fl.id, own.body.id, stranger.apiKey), 404);
          const [{ n }] = await t.db.query(
            `SELECT count(*)::int AS n FROM dollar_accounts WHERE closed_at IS NOT NULL AND id = ANY($1::uuid[])`,
            [[own.body.id, foreign.body.id]],
          );
          expect(n).toBe(0);
        });
      });

      it('moves while a routing holds the old default, without a deadlock between the two', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
        const first = await addAccount(fl.id, account()).expect(201);
        const second = await addAccount(fl.id, account()).expect(201);
        // A routing to the default: its share lock on the account, then (its foreign-key check on the payout's
        // freelancer) a key-share lock on the freelancer, taken while the move waits for the account.
        const moved = await commitOnceBlocked(
          t.db,
          [[`SELECT 1 FROM dollar_accounts WHERE id = $1 FOR SHARE`, [first.body.id]]],
          // `then` sends the request now.
          () => makeDefault(fl.id, second.body.id).then((res) => res),
          'the move to wait for the routing',
          [[`SELECT 1 FROM freelancers WHERE id = $1 FOR KEY SHARE`, [fl.id]]],
        );
        expect(moved.status).toBe(200);
        expect(await defaults(fl.id)).toEqual([second.body.id]);
      });

      it('names isDefault when it is not a boolean, and adds nothing', async () => {
        const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
        const res = await addAccount(fl.id, account({ isDefault: 'yes' }));
        expectProblem(res, 400);
        expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['isDefault']);
        expect(await defaults(fl.id)).toEqual([]);
      });
    });

    it.each([
      ['PK37SCBL0000001123456702', 'off-by-one check digits'],
      ['PK36SCBL0000001123456703', 'off-by-one account digit'],
      ['PK36SCBL000000112345670', 'too short'],
      ['GB82WEST12345698765432', 'not Pakistani'],
    ])('refuses the IBAN %s (%s) with 400 naming iban', async (iban) => {
      const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
      const res = await t.http
        .post(`/v1/freelancers/${fl.id}/accounts`)
        .set(bearer(partner.apiKey))
        .send({ kind: 'bank_fcy', institution: 'Meezan Bank', iban, title: 'A' });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'iban' })]);
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM dollar_accounts WHERE freelancer_id = $1`,
        [fl.id],
      );
      expect(n).toBe(0);
    });

    it.each([
      ['institution', { institution: ' ' }],
      ['title', { title: '\t' }],
    ])('refuses a blank %s on an account', async (field, override) => {
      const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
      const res = await t.http
        .post(`/v1/freelancers/${fl.id}/accounts`)
        .set(bearer(partner.apiKey))
        .send({
          kind: 'bank_fcy',
          institution: 'X',
          iban: 'PK36SCBL0000001123456702',
          title: 'A',
          ...override,
        });
      expectProblem(res, 400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    });

    it('names a bad account kind', async () => {
      const fl = await createFreelancer(t.http, partner.apiKey, {}, null);
      const res = await t.http
        .post(`/v1/freelancers/${fl.id}/accounts`)
        .set(bearer(partner.apiKey))
        .send({ kind: 'pkr_wallet', institution: 'X', iban: 'PK36SCBL0000001123456702', title: 'A' });
      expectProblem(res, 400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['kind']);
    });

    it('hides one partner’s freelancer from another (404, not 403)', async () => {
      const fl = await createFreelancer(t.http, partner.apiKey);
      const other = await createPartner(t.http);
      expectProblem(await t.http.get(`/v1/freelancers/${fl.id}`).set(bearer(other.apiKey)), 404);
      expectProblem(
        await t.http
          .post(`/v1/freelancers/${fl.id}/accounts`)
          .set(bearer(other.apiKey))
          .send({ kind: 'bank_fcy', institution: 'X', iban: 'PK36SCBL0000001123456702', title: 'A' }),
        404,
      );
      const list = await t.http
        .get(`/v1/freelancers?externalRef=${fl.externalRef}`)
        .set(bearer(other.apiKey))
        .expect(200);
      expect(list.body.data).toEqual([]);
      expectProblem(await t.http.get(`/v1/freelancers/not-a-uuid`).set(bearer(other.apiKey)), 404);
    });
  });

  describe('pagination', () => {
    it('walks every freelancer exactly once with cursors', async () => {
      const partner = await createPartner(t.http);
      const ids = new Set<string>();
      for (let i = 0; i < 7; i += 1) ids.add((await createFreelancer(t.http, partner.apiKey, {}, null)).id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { data: { id: string }[]; nextCursor: string | null } } = await t.http
          .get(`/v1/freelancers?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
          .set(bearer(partner.apiKey))
          .expect(200);
        expect(res.body.data.length).toBeLessThanOrEqual(3);
        seen.push(...res.body.data.map((f) => f.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(7);
      expect(new Set(seen)).toEqual(ids);
    });

    it.each(['limit=0', 'limit=101', 'limit=abc', 'limit=0x2', 'limit=2.0', 'limit=1e2', 'cursor=garbage'])(
      'refuses %s',
      async (query) => {
        const partner = await createPartner(t.http);
        const res = await t.http.get(`/v1/freelancers?${query}`).set(bearer(partner.apiKey));
        expectProblem(res, 400);
        expect(res.body.errors).toHaveLength(1);
        expect(res.body.errors[0].field).toBe(query.split('=')[0]);
      },
    );
  });

  describe('idempotency', () => {
    let partner: { apiKey: string };

    beforeAll(async () => {
      partner = await createPartner(t.http);
    });

    it('replays the first answer for the same key and body', async () => {
      const body = { externalRef: unique('idem'), name: 'A', cnic: '35202-1234567-1' };
      const key = unique('key');
      const first = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', key)
        .send(body);
      const again = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', key)
        .send(body);
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      // Byte for byte, key order included: a client may compare or hash the raw answer.
      expect(again.text).toBe(first.text);
    });

    it('replays a first error too (same status, same body)', async () => {
      const body = { externalRef: unique('idem'), name: 'A', cnic: '35202-1234567-1' };
      await t.http.post('/v1/freelancers').set(bearer(partner.apiKey)).send(body).expect(201);
      const key = unique('key');
      const first = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', key)
        .send(body);
      const again = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', key)
        .send(body);
      expect(first.status).toBe(409);
      expect(again.status).toBe(409);
      expect(again.text).toBe(first.text);
    });

    it('replays an answer to invalid input too; the corrected body needs a new key', async () => {
      const key = unique('key');
      const post = (body: object) =>
        t.http.post('/v1/freelancers').set(bearer(partner.apiKey)).set('Idempotency-Key', key).send(body);
      const invalid = { externalRef: unique('idem'), name: 'A', cnic: 'not a cnic' };
      const first = await post(invalid);
      expectProblem(first, 400);
      expect((await post(invalid)).text).toBe(first.text);
      expectProblem(await post({ ...invalid, cnic: '35202-1234567-1' }), 422);
    });

    it('answers 422 to the same key with a different body, and creates nothing', async () => {
      const key = unique('key');
      const ref = unique('idem');
      await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', key)
        .send({ externalRef: ref, name: 'A', cnic: '35202-1234567-1' })
        .expect(201);
      const other = unique('idem');
      const res = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', key)
        .send({ externalRef: other, name: 'A', cnic: '35202-1234567-1' });
      expectProblem(res, 422);
      const found = await t.http
        .get(`/v1/freelancers?externalRef=${other}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(found.body.data).toEqual([]);
    });

    it('runs one of many concurrent requests with one key; the rest get its answer', async () => {
      const key = unique('key');
      const body = { externalRef: unique('conc'), name: 'A', cnic: '35202-1234567-1' };
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          t.http.post('/v1/freelancers').set(bearer(partner.apiKey)).set('Idempotency-Key', key).send(body),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM freelancers WHERE external_ref = $1`, [
        body.externalRef,
      ]);
      expect(n).toBe(1);
    });

    it('keys are per partner', async () => {
      const other = await createPartner(t.http);
      const key = unique('key');
      const a = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', key)
        .send({ externalRef: unique('p'), name: 'A', cnic: '35202-1234567-1' })
        .expect(201);
      const b = await t.http
        .post('/v1/freelancers')
        .set(bearer(other.apiKey))
        .set('Idempotency-Key', key)
        .send({ externalRef: unique('p'), name: 'B', cnic: '35202-1234567-1' })
        .expect(201);
      expect(b.body.id).not.toBe(a.body.id);
    });

    it('serves one request per key across endpoints, those that keep a secret included', async () => {
      const freelancerFirst = unique('key');
      const post = (path: string, key: string, body: object) =>
        t.http.post(path).set(bearer(partner.apiKey)).set('Idempotency-Key', key).send(body);
      await post('/v1/freelancers', freelancerFirst, {
        externalRef: unique('p'),
        name: 'A',
        cnic: '35202-1234567-1',
      }).expect(201);
      expectProblem(await post('/v1/platform-connections', freelancerFirst, { platform: 'upwork' }), 422);
      expectProblem(
        await post('/v1/webhook-endpoints', freelancerFirst, { url: 'https://partner.example/hooks' }),
        422,
      );

      const connectionFirst = unique('key');
      const connection = await post('/v1/platform-connections', connectionFirst, {
        platform: 'fiverr',
      }).expect(201);
      const again = await post('/v1/platform-connections', connectionFirst, { platform: 'fiverr' }).expect(
        201,
      );
      expect(again.body.id).toBe(connection.body.id);
      expectProblem(
        await post('/v1/freelancers', connectionFirst, {
          externalRef: unique('p'),
          name: 'B',
          cnic: '35202-1234567-1',
        }),
        422,
      );
      expectProblem(
        await post('/v1/webhook-endpoints', connectionFirst, { url: 'https://partner.example/hooks' }),
        422,
      );
    });

    it('refuses an over-long key', async () => {
      const res = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', 'k'.repeat(256))
        .send({ externalRef: unique('p'), name: 'A', cnic: '35202-1234567-1' });
      expectProblem(res, 400);
      expect(res.body.errors[0].field).toBe('Idempotency-Key');
    });

    it('counts a UTF-8 key in characters, not bytes', async () => {
      // About 170 characters; superagent sends them as UTF-8, about 320 bytes.
      const key = `${unique('ü')}${'ü'.repeat(150)}`;
      const body = { externalRef: unique('utf8-key'), name: 'A', cnic: '35202-1234567-1' };
      const post = () =>
        t.http.post('/v1/freelancers').set(bearer(partner.apiKey)).set('Idempotency-Key', key).send(body);
      const first = await post().expect(201);
      const again = await post().expect(201);
      expect(again.body).toEqual(first.body);
    });

    it('refuses the key sent twice, which would otherwise read as one joined key', async () => {
      const res = await t.http
        .post('/v1/freelancers')
        .set(bearer(partner.apiKey))
        // Two header lines: superagent's types take one value, Node's client takes a list.
        .set('Idempotency-Key', [unique('dupA'), unique('dupB')] as unknown as string)
        .send({ externalRef: unique('dup'), name: 'A', cnic: '35202-1234567-1' });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'must be sent once' }]);
    });
  });

  describe('problem+json', () => {
    it('answers unknown routes, bad JSON and wrong media types as problems', async () => {
      expectProblem(await t.http.get('/v1/nowhere'), 404);
      const partner = await createPartner(t.http);
      expectProblem(
        await t.http
          .post('/v1/freelancers')
          .set(bearer(partner.apiKey))
          .set('Content-Type', 'application/json')
          .send('{"a":'),
        400,
      );
      expectProblem(
        await t.http
          .post('/v1/freelancers')
          .set(bearer(partner.apiKey))
          .set('Content-Type', 'text/plain')
          .send('hello'),
        415,
      );
    });
  });

  it('purges Idempotency-Keys past their retention a batch at a time, and keeps the younger ones', async () => {
    const partner = await createPartner(t.http);
    const keys = Array.from({ length: 5 }, (_, i) => `old-${i}`);
    await t.db.query(
      `INSERT INTO idempotency_keys (partner_id, key, request_hash, state, locked_until, created_at)
       SELECT $1::uuid, k, 'h', 'completed', now(), now() - interval '49 hours' FROM unnest($2::text[]) AS k
       UNION ALL SELECT $1::uuid, 'fresh', 'h', 'completed', now(), now() - interval '47 hours'`,
      [partner.id, keys],
    );
    expect(await t.app.get(IdempotencyService).purgeExpired(2)).toBeGreaterThanOrEqual(5);
    const left = await t.db.query(`SELECT key FROM idempotency_keys WHERE partner_id = $1`, [partner.id]);
    expect(left).toEqual([{ key: 'fresh' }]);
  });

  describe('health and docs', () => {
    it('is live and ready with Postgres and Redis up', async () => {
      await t.http.get('/health/live').expect(200, { status: 'ok' });
      const ready = await t.http.get('/health/ready').expect(200);
      expect(ready.body.checks).toEqual({ postgres: 'up', redis: 'up' });
    });

    it('serves the OpenAPI document covering the partner API', async () => {
      const res = await t.http.get('/docs-json').expect(200);
      expect(Object.keys(res.body.paths)).toEqual(
        expect.arrayContaining([
          '/v1/freelancers',
          '/v1/freelancers/{id}',
          '/v1/freelancers/{id}/accounts',
          '/v1/freelancers/{id}/accounts/{accountId}',
          '/v1/ops/partners',
        ]),
      );
    });

    it('serves Prometheus metrics', async () => {
      const res = await t.http.get('/metrics').expect(200);
      expect(res.text).toContain('process_cpu_seconds_total');
    });
  });
});

describe('key revocation across api replicas (e2e)', () => {
  it('serves a cached key without Postgres, and answers 401 at once on a replica that had it cached', async () => {
    const a = await startApp();
    const b = await startApp();
    try {
      // An epoch no earlier test left behind, so a broken epoch read cannot pass for a revocation.
      await b.app.get(RedisService).client.set(ApiKeyCache.EPOCH_KEY, String(randomInt(1e9, 2e9)));
      const lookups = jest.spyOn(b.app.get(PartnersService), 'authenticate');
      const partner = await createPartner(a.http);
      for (let i = 0; i < 3; i++) await b.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
      expect(lookups).toHaveBeenCalledTimes(1);
      await a.http.delete(`/v1/ops/partners/${partner.id}/api-keys/${partner.apiKeyId}`).set(ops).expect(204);
      await b.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(401);
      expect(lookups).toHaveBeenCalledTimes(2);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('key revocation after Redis lost its keys (e2e)', () => {
  it('keeps a revoked key refused on a replica that cached it, when the epoch goes missing', async () => {
    const a = await startApp();
    const b = await startApp();
    try {
      const redis = b.app.get(RedisService).client;
      const partner = await createPartner(a.http);
      const second = await a.http.post(`/v1/ops/partners/${partner.id}/api-keys`).set(ops).expect(201);
      // Both keys are cached by b while the epoch is missing, as after a Redis restart.
      await redis.del(ApiKeyCache.EPOCH_KEY);
      await b.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
      await b.http.get('/v1/freelancers').set(bearer(second.body.apiKey)).expect(200);
      await a.http.delete(`/v1/ops/partners/${partner.id}/api-keys/${partner.apiKeyId}`).set(ops).expect(204);
      await a.http
        .delete(`/v1/ops/partners/${partner.id}/api-keys/${second.body.apiKeyId}`)
        .set(ops)
        .expect(204);
      // b learns of the first revocation before Redis restarts empty, and of the second only after.
      expectProblem(await b.http.get('/v1/freelancers').set(bearer(partner.apiKey)), 401);
      await redis.del(ApiKeyCache.EPOCH_KEY);
      for (const key of [partner.apiKey, second.body.apiKey, partner.apiKey]) {
        expectProblem(await b.http.get('/v1/freelancers').set(bearer(key)), 401);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('two Authorization lines (e2e)', () => {
  it('answers 400 naming Authorization, whichever line holds a good key, and creates nothing', async () => {
    const t = await startApp();
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const partner = await createPartner(t.http);
      const send = async (lines: string[]) => {
        const body = JSON.stringify({ externalRef: unique('twice'), cnic: '35202-1234567-1', name: 'A' });
        const answer = await rawExchange(
          port,
          `POST /v1/freelancers HTTP/1.1\r\nHost: x\r\n${lines.map((l) => `${l}\r\n`).join('')}` +
            `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
        const [head, json] = answer.split('\r\n\r\n');
        return { head, body: JSON.parse(json) };
      };
      for (const lines of [
        [`Authorization: Bearer ${partner.apiKey}`, 'Authorization: Bearer pk_forged'],
        ['authorization: Bearer pk_forged', `AUTHORIZATION: Bearer ${partner.apiKey}`],
      ]) {
        const res = await send(lines);
        expect(res.head).toMatch(/^HTTP\/1\.1 400 /);
        expect(res.head).toMatch(/\r\ncontent-type: application\/problem\+json/i);
        expect(res.body.errors).toEqual([{ field: 'Authorization', message: 'must be sent once' }]);
      }
      const listed = await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
      expect(listed.body.data).toEqual([]);
      expect((await send([`Authorization: Bearer ${partner.apiKey}`])).head).toMatch(/^HTTP\/1\.1 201 /);
    } finally {
      await t.close();
    }
  });
});

describe('a revocation whose epoch bump was lost (e2e)', () => {
  it('stops serving the cached key once its entry is API_KEY_CACHE_TTL_MS old', async () => {
    const clock = new MovableClock();
    const t = await startApp({}, { clock });
    try {
      const partner = await createPartner(t.http);
      await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
      // Revoked in Postgres while Redis was unreachable: the epoch never moved.
      await t.db.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [partner.apiKeyId]);
      await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
      clock.advance(API_KEY_CACHE_TTL_MS);
      expectProblem(await t.http.get('/v1/freelancers').set(bearer(partner.apiKey)), 401);
    } finally {
      await t.close();
    }
  });
});

describe('requests node cannot parse (e2e)', () => {
  it('answers them with problem+json and closes the connection', async () => {
    const t = await startApp();
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const answer = await rawExchange(
        port,
        'GET /health/live HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n',
      );
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(head).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
      expect(JSON.parse(body)).toEqual(expect.objectContaining({ status: 400, title: expect.any(String) }));
    } finally {
      await t.close();
    }
  });
});

describe('readiness without Redis (e2e)', () => {
  it('answers 503 naming Redis when nothing listens on its port', async () => {
    const t = await startApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await t.http.get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.checks).toEqual({ postgres: 'up', redis: 'down' });
      await t.http.get('/health/live').expect(200);
    } finally {
      await t.close();
    }
  });
});

describe('rate limit (e2e)', () => {
  it('answers 429 with Retry-After past the per-key limit', async () => {
    const t = await startApp({ PARTNER_RATE_LIMIT_PER_SECOND: '5' });
    try {
      const partner = await createPartner(t.http);
      const results = await Promise.all(
        Array.from({ length: 30 }, () => t.http.get('/v1/freelancers').set(bearer(partner.apiKey))),
      );
      const limited = results.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      expect(limited[0].headers['retry-after']).toBe('1');
      expect(limited[0].headers['content-type']).toMatch(/problem\+json/);
      expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(5);
      await expectExactLimit(
        t.app.get(RedisService).client,
        `rl:partner-key:${partner.apiKeyId}`,
        5,
        () => t.http.get('/v1/freelancers').set(bearer(partner.apiKey)),
        200,
      );
    } finally {
      await t.close();
    }
  });

  it('answers 401, not 429, to a cached key revoked since, however many requests it made', async () => {
    // b is the replica that cached the keys; a, where the revocation is made, drops its own copies at once.
    const a = await startApp({ PARTNER_RATE_LIMIT_PER_SECOND: '2' });
    const b = await startApp({ PARTNER_RATE_LIMIT_PER_SECOND: '2' });
    try {
      const redis = b.app.get(RedisService).client;
      const partner = await createPartner(a.http);
      const kept = await a.http.post(`/v1/ops/partners/${partner.id}/api-keys`).set(ops).expect(201);
      for (const key of [partner.apiKey, kept.body.apiKey]) {
        await b.http.get('/v1/freelancers').set(bearer(key)).expect(200);
      }
      // Each key's window is full for the next minute, whatever the time the requests below take.
      for (const apiKeyId of [partner.apiKeyId, kept.body.apiKeyId]) {
        await fillWindow(redis, `rl:partner-key:${apiKeyId}`, 2);
      }
      await a.http.delete(`/v1/ops/partners/${partner.id}/api-keys/${partner.apiKeyId}`).set(ops).expect(204);
      expectProblem(await b.http.get('/v1/freelancers').set(bearer(partner.apiKey)), 401);
      // The revocation moved the epoch for every cached key: the one still standing is checked in Postgres
      // and, over its limit, still refused.
      const limited = await b.http.get('/v1/freelancers').set(bearer(kept.body.apiKey));
      expectProblem(limited, 429);
      expect(limited.headers['retry-after']).toBe('1');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
