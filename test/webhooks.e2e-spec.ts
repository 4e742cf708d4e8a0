import { createHmac, randomUUID } from 'node:crypto';
import { AppLogger, createRootLogger, ROOT_LOGGER } from '../src/common/app-logger';
import { loadConfig } from '../src/config/app-config';
import { MetricsService } from '../src/ops/metrics.service';
import { RedisService } from '../src/redis/redis.module';
import { WebhookEventsService } from '../src/webhooks/webhook-events.service';
import { PayoutQueues } from '../src/queues/payout-queues.service';
import { JobIds } from '../src/queues/queues';
import {
  bearer,
  createFreelancer,
  createPartner,
  ops,
  startApp,
  TestApp,
  unique,
  waitFor,
} from './support/app';
import {
  Connection,
  createConnection,
  deliver,
  payoutEvent,
  signStandard,
  signStripe,
  stripeEvent,
} from './support/webhooks';
import { captureLines } from './support/log-lines';
import { PausableRedisRelay } from './support/redis-relay';
import { expectProblem } from './support/problem';
import { expectExactLimit, fillWindow } from './support/rate-limit';

describe('webhooks (e2e)', () => {
  let t: TestApp;
  let partner: { id: string; apiKey: string };
  let upwork: Connection;
  let stripe: Connection;

  beforeAll(async () => {
    t = await startApp();
    partner = await createPartner(t.http);
    upwork = await createConnection(t.http, partner.apiKey, 'upwork');
    stripe = await createConnection(t.http, partner.apiKey, 'stripe');
  });

  afterAll(async () => {
    await t.close();
  });

  const eventsOf = (connection: Connection): Promise<Record<string, unknown>[]> =>
    t.db.query(`SELECT * FROM webhook_events WHERE connection_id = $1 ORDER BY created_at, id`, [
      connection.id,
    ]);
  const countEvents = async (connection: Connection): Promise<number> => (await eventsOf(connection)).length;
  const payoutsOf = (connection: Connection, platformPayoutId: string): Promise<Record<string, unknown>[]> =>
    t.db.query(`SELECT * FROM payouts WHERE connection_id = $1 AND platform_payout_id = $2`, [
      connection.id,
      platformPayoutId,
    ]);
  const storedEvent = async (connection: Connection, eventId: string) => {
    const rows = await t.db.query(`SELECT * FROM webhook_events WHERE connection_id = $1 AND event_id = $2`, [
      connection.id,
      eventId,
    ]);
    return rows[0];
  };
  const outcomes = async (): Promise<Record<string, number>> => {
    const metric = await t.app.get(MetricsService).webhooks.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.outcome), v.value]));
  };
  const routeJob = (eventRowId: string) =>
    t.app.get(PayoutQueues).route.getJob(JobIds.routeFromEvent(eventRowId));

  describe('platform connections', () => {
    it('creates a connection with a fresh whsec_ secret shown once', async () => {
      const res = await t.http
        .post('/v1/platform-connections')
        .set(bearer(partner.apiKey))
        .send({ platform: 'fiverr' })
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        platform: 'fiverr',
        scheme: 'standard-webhooks',
        webhookUrl: `/v1/webhooks/${res.body.id}`,
        signingSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      });
      expect(Buffer.from(res.body.signingSecret.slice(6), 'base64')).toHaveLength(32);
      const got = await t.http
        .get(`/v1/platform-connections/${res.body.id}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(got.body).toEqual({
        id: res.body.id,
        platform: 'fiverr',
        scheme: 'standard-webhooks',
        webhookUrl: res.body.webhookUrl,
        createdAt: expect.any(String),
        previousSecretExpiresAt: null,
      });
    });

    it('uses the stripe scheme for stripe, and the scheme the body names', async () => {
      expect(stripe.scheme).toBe('stripe');
      expect(stripe.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const named = await createConnection(t.http, partner.apiKey, 'deel', 'stripe');
      expect(named.scheme).toBe('stripe');
      for (const platform of ['upwork', 'fiverr', 'payoneer', 'toptal', 'deel', 'guru']) {
        expect((await createConnection(t.http, partner.apiKey, platform)).scheme).toBe('standard-webhooks');
      }
    });

    it.each([
      ['platform', { platform: 'ebay' }],
      ['platform', {}],
      ['scheme', { platform: 'upwork', scheme: 'hmac' }],
      ['secret', { platform: 'upwork', secret: 'mine' }],
    ])('names the bad field %s', async (field, body) => {
      const res = await t.http.post('/v1/platform-connections').set(bearer(partner.apiKey)).send(body);
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field })]);
    });

    it('needs a partner key', async () => {
      expectProblem(await t.http.post('/v1/platform-connections').send({ platform: 'upwork' }), 401);
    });

    it('stores the secret only encrypted', async () => {
      const [row] = await t.db.query(`SELECT secret_ciphertext FROM platform_connections WHERE id = $1`, [
        upwork.id,
      ]);
      const stored: Buffer = row.secret_ciphertext;
      expect(stored.toString('latin1')).not.toContain(upwork.signingSecret.slice(6));
      expect(stored.toString('base64')).not.toContain(upwork.signingSecret.slice(6, 30));
      expect(stored.includes(Buffer.from(upwork.signingSecret.slice(6), 'base64'))).toBe(false);
    });

    it('replays an Idempotency-Key with the same connection, and never keeps the secret in clear', async () => {
      const key = unique('idem');
      const first = await t.http
        .post('/v1/platform-connections')
        .set({ ...bearer(partner.apiKey), 'Idempotency-Key': key })
        .send({ platform: 'guru' })
        .expect(201);
      const again = await t.http
        .post('/v1/platform-connections')
        .set({ ...bearer(partner.apiKey), 'Idempotency-Key': key })
        .send({ platform: 'guru' })
        .expect(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      const other = await t.http
        .post('/v1/platform-connections')
        .set({ ...bearer(partner.apiKey), 'Idempotency-Key': key })
        .send({ platform: 'toptal' });
      expectProblem(other, 422);
      // A body that would not pass validation is still another request for that key: 422, not 400.
      for (const body of [{ platform: 'nope' }, { platform: 'guru', bogus: 1 }]) {
        const malformed = await t.http
          .post('/v1/platform-connections')
          .set({ ...bearer(partner.apiKey), 'Idempotency-Key': key })
          .send(body);
        expectProblem(malformed, 422);
        expect(malformed.body.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
      }
      // Under a key no request holds, the same body is refused as malformed, and the key stays free.
      const fresh = unique('idem');
      const refused = await t.http
        .post('/v1/platform-connections')
        .set({ ...bearer(partner.apiKey), 'Idempotency-Key': fresh })
        .send({ platform: 'nope' });
      expectProblem(refused, 400);
      await t.http
        .post('/v1/platform-connections')
        .set({ ...bearer(partner.apiKey), 'Idempotency-Key': fresh })
        .send({ platform: 'guru' })
        .expect(201);
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM platform_connections WHERE partner_id = $1 AND idempotency_key = $2`,
        [partner.id, key],
      );
      expect(n).toBe(1);
      const [{ leaked }] = await t.db.query(
        `SELECT count(*)::int AS leaked FROM idempotency_keys WHERE response_body::text LIKE '%' || $1 || '%'`,
        [first.body.signingSecret.slice(6)],
      );
      expect(leaked).toBe(0);
    });

    it('hides another partner’s connection (404) and lists only one’s own', async () => {
      const other = await createPartner(t.http);
      const theirs = await createConnection(t.http, other.apiKey, 'upwork');
      expectProblem(
        await t.http.get(`/v1/platform-connections/${theirs.id}`).set(bearer(partner.apiKey)),
        404,
      );
      const list = await t.http
        .get('/v1/platform-connections?limit=100')
        .set(bearer(partner.apiKey))
        .expect(200);
      const ids = list.body.data.map((c: { id: string }) => c.id);
      expect(ids).toContain(upwork.id);
      expect(ids).not.toContain(theirs.id);
      expect(JSON.stringify(list.body)).not.toContain('whsec_');
    });
  });

  describe('standard-webhooks intake', () => {
    it('stores a valid event before answering 202, makes one payout and queues its route job', async () => {
      const before = await outcomes();
      const event = payoutEvent({ amount: '1250.00' });
      const id = `msg_${randomUUID()}`;
      const res = await deliver(t.http, upwork, event, { id });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ eventId: id, duplicate: false });

      const stored = await storedEvent(upwork, id);
      expect(stored).toEqual(
        expect.objectContaining({
          partner_id: partner.id,
          event_type: 'payout.available',
          status: 'accepted',
          errors: null,
          payout_id: expect.any(String),
        }),
      );
      expect(stored.raw_body.toString('utf8')).toBe(JSON.stringify(event));
      expect(stored.headers).toEqual(expect.objectContaining({ 'webhook-id': id }));
      expect(JSON.stringify(stored.headers)).not.toContain('v1,');

      const data = event.data as { payoutId: string };
      const [payout] = await payoutsOf(upwork, data.payoutId);
      expect(payout).toEqual(
        expect.objectContaining({
          id: stored.payout_id,
          partner_id: partner.id,
          platform: 'upwork',
          source_event_id: stored.id,
          freelancer_ref: 'fl-42',
          gross: '1250.00',
          currency: 'USD',
          client_name: 'Acme Inc',
          client_country: 'US',
          service_category: 'software_development',
        }),
      );
      const job = await waitFor(() => routeJob(stored.id), { what: 'the route job' });
      expect(job.data).toEqual(expect.objectContaining({ payoutId: payout.id }));
      await waitFor(async () => (await storedEvent(upwork, id)).enqueued_at !== null, {
        what: 'enqueued_at',
      });
      expect((await outcomes()).accepted).toBe((before.accepted ?? 0) + 1);
    });

    it('answers 200 duplicate to the same event id with any body, storing nothing new', async () => {
      const id = `msg_${randomUUID()}`;
      const first = payoutEvent();
      await deliver(t.http, upwork, first, { id }).expect(202);
      const before = await countEvents(upwork);
      const again = await deliver(t.http, upwork, first, { id });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ eventId: id, duplicate: true });
      const changed = await deliver(t.http, upwork, payoutEvent({ amount: '5.00' }), { id });
      expect(changed.body).toEqual({ eventId: id, duplicate: true });
      const invalid = await deliver(t.http, upwork, payoutEvent({ amount: '0.00' }), { id });
      expect(invalid.status).toBe(200);
      const notJson = await t.http
        .post(upwork.webhookUrl)
        .set(signStandard(upwork.signingSecret, id, 'not json'))
        .send('not json');
      expect(notJson.status).toBe(200);
      expect(notJson.body).toEqual({ eventId: id, duplicate: true });
      expect(await countEvents(upwork)).toBe(before);
      expect(await payoutsOf(upwork, (first.data as { payoutId: string }).payoutId)).toHaveLength(1);
    });

    it('stores one event and one payout when 50 copies of an event arrive at once', async () => {
      const event = payoutEvent();
      const body = JSON.stringify(event);
      const id = `msg_${randomUUID()}`;
      const headers = signStandard(upwork.signingSecret, id, body);
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => t.http.post(upwork.webhookUrl).set(headers).send(body)),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 202)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(49);
      expect(answers.filter((a) => a.body.duplicate === true)).toHaveLength(49);
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM webhook_events WHERE connection_id = $1 AND event_id = $2`,
        [upwork.id, id],
      );
      expect(n).toBe(1);
      expect(await payoutsOf(upwork, (event.data as { payoutId: string }).payoutId)).toHaveLength(1);
    });

    it('makes one payout of two events about the same platform payout, routed once', async () => {
      const payoutId = unique('UPW-PO');
      const firstId = `msg_${randomUUID()}`;
      const secondId = `msg_${randomUUID()}`;
      await deliver(t.http, upwork, payoutEvent({ payoutId }), { id: firstId }).expect(202);
      const second = await deliver(t.http, upwork, payoutEvent({ payoutId }), { id: secondId });
      expect(second.status).toBe(202);
      expect(second.body).toEqual({ eventId: secondId, duplicate: false });
      const payouts = await payoutsOf(upwork, payoutId);
      expect(payouts).toHaveLength(1);
      const first = await storedEvent(upwork, firstId);
      const later = await storedEvent(upwork, secondId);
      expect(first.payout_id).toBe(payouts[0].id);
      expect(later.payout_id).toBe(payouts[0].id);
      expect(later.status).toBe('accepted');
      expect(later.enqueued_at).not.toBeNull();
      await waitFor(() => routeJob(first.id), { what: 'the first event’s route job' });
      expect(await routeJob(later.id)).toBeUndefined();
    });

    it('makes one payout when two events about one platform payout race', async () => {
      const payoutId = unique('UPW-PO');
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => deliver(t.http, upwork, payoutEvent({ payoutId }))),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
      expect(await payoutsOf(upwork, payoutId)).toHaveLength(1);
    });

    it('keeps an event that disagrees with the payout already received as rejected (422), and the payout as it was', async () => {
      const payoutId = unique('UPW-PO');
      await deliver(t.http, upwork, payoutEvent({ payoutId, amount: '300.00' })).expect(202);
      const disagreeing = [{ amount: '999.00' }, { freelancerRef: 'fl-someone-else' }];
      for (const change of disagreeing) {
        const id = `msg_${randomUUID()}`;
        const res = await deliver(t.http, upwork, payoutEvent({ payoutId, ...change }), { id });
        expectProblem(res, 422);
        expect(res.body.errors).toEqual([
          {
            field: 'platformPayoutId',
            message: expect.stringContaining(`payout ${payoutId} was received as 300.00 USD for fl-42`),
          },
        ]);
        const stored = await storedEvent(upwork, id);
        expect(stored).toEqual(
          expect.objectContaining({ status: 'rejected', payout_id: null, enqueued_at: null }),
        );
        expect(stored.errors).toEqual(res.body.errors);
      }
      const payouts = await payoutsOf(upwork, payoutId);
      expect(payouts.map((p) => [p.gross, p.freelancer_ref])).toEqual([['300.00', 'fl-42']]);
    });

    it('makes one payout when events that disagree race: the others are kept as rejected', async () => {
      const payoutId = unique('UPW-PO');
      const amounts = Array.from({ length: 8 }, (_, i) => `${100 + i}.00`);
      const answers = await Promise.all(
        amounts.map((amount) => deliver(t.http, upwork, payoutEvent({ payoutId, amount }))),
      );
      const payouts = await payoutsOf(upwork, payoutId);
      expect(payouts).toHaveLength(1);
      expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array(7).fill(422)]);
      expect(amounts[answers.findIndex((a) => a.status === 202)]).toBe(payouts[0].gross);
    });

    it('accepts a payout for a freelancer ref the partner never registered (it is routed as unmatched later)', async () => {
      const event = payoutEvent({ freelancerRef: unique('nobody') });
      await deliver(t.http, upwork, event).expect(202);
      const [payout] = await payoutsOf(upwork, (event.data as { payoutId: string }).payoutId);
      expect(payout.freelancer_ref).toBe((event.data as { freelancerRef: string }).freelancerRef);
    });

    it('passes when one of several v1 signatures matches (secret rotation)', async () => {
      const body = JSON.stringify(payoutEvent());
      const id = `msg_${randomUUID()}`;
      const good = signStandard(upwork.signingSecret, id, body);
      const old = signStandard(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, id, body);
      const headers = {
        ...good,
        'webhook-signature': `${old['webhook-signature']} ${good['webhook-signature']}`,
      };
      await t.http.post(upwork.webhookUrl).set(headers).send(body).expect(202);
      const onlyOld = { ...good, 'webhook-signature': old['webhook-signature'] };
      expectProblem(await t.http.post(upwork.webhookUrl).set(onlyOld).send(body), 401);
    });

    describe('refuses with 401 and stores nothing', () => {
      type Forge = (body: string) => { body: string; headers: Record<string, string> };
      const forgeries: [string, Forge][] = [
        [
          'a tampered body',
          (body: string) => ({
            body: body.replace('1250.00', '9250.00'),
            headers: signStandard(upwork.signingSecret, 'm1', body),
          }),
        ],
        [
          'another secret',
          (body: string) => ({
            body,
            headers: signStandard(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, 'm2', body),
          }),
        ],
        [
          'a timestamp 301 s old',
          (body: string) => ({
            body,
            headers: signStandard(upwork.signingSecret, 'm3', body, new Date(Date.now() - 301_000)),
          }),
        ],
        [
          // 302: signed at x.999 s and checked at (x+1).001 s, 301 s ahead would read as 300 in whole seconds.
          'a timestamp 302 s ahead',
          (body: string) => ({
            body,
            headers: signStandard(upwork.signingSecret, 'm4', body, new Date(Date.now() + 302_000)),
          }),
        ],
        ...['webhook-id', 'webhook-timestamp', 'webhook-signature'].map(
          (name) =>
            [
              `no ${name} header`,
              (body: string) => {
                const headers = signStandard(upwork.signingSecret, 'm5', body);
                delete headers[name];
                return { body, headers };
              },
            ] as [string, Forge],
        ),
        [
          'a stripe signature on a standard connection',
          (body: string) => ({ body, headers: signStripe(upwork.signingSecret, body) }),
        ],
      ];
      it.each(forgeries)('%s', async (_label, make) => {
        const before = await countEvents(upwork);
        const metricBefore = (await outcomes()).bad_signature ?? 0;
        const { body, headers } = make(JSON.stringify(payoutEvent()));
        const res = await t.http.post(upwork.webhookUrl).set(headers).send(body);
        expectProblem(res, 401);
        expect(await countEvents(upwork)).toBe(before);
        expect((await outcomes()).bad_signature).toBe(metricBefore + 1);
      });
    });

    it("names the request on the refusal's log line, so ops can find the line from the platform's request id", async () => {
      const { stream, lines } = captureLines();
      t.app.useLogger(new AppLogger(createRootLogger('warn', stream)));
      try {
        const body = JSON.stringify(payoutEvent());
        const forged = signStandard(`whsec_${Buffer.alloc(32, 9).toString('base64')}`, 'm6', body);
        const res = await t.http
          .post(upwork.webhookUrl)
          .set({ ...forged, 'X-Request-Id': 'platform-req-42' })
          .send(body);
        expectProblem(res, 401);
      } finally {
        t.app.useLogger(new AppLogger(t.app.get(ROOT_LOGGER)));
      }
      expect(lines).toEqual([
        expect.objectContaining({
          level: 40,
          context: 'WebhookIntakeService',
          msg: expect.stringContaining(`A webhook for connection ${upwork.id} was refused`),
          reqId: 'platform-req-42',
        }),
      ]);
    });

    it('checks the signature before saying the body is not JSON', async () => {
      const body = 'amount=1250.00&currency=USD';
      expectProblem(
        await t.http.post(upwork.webhookUrl).set({ 'content-type': 'application/json' }).send(body),
        401,
      );
      const before = await countEvents(upwork);
      const signed = signStandard(upwork.signingSecret, `msg_${randomUUID()}`, body);
      expectProblem(await t.http.post(upwork.webhookUrl).set(signed).send(body), 400);
      const formHeaders = {
        ...signStandard(upwork.signingSecret, `msg_${randomUUID()}`, body),
        'content-type': 'text/plain',
      };
      expectProblem(await t.http.post(upwork.webhookUrl).set(formHeaders).send(body), 400);
      const empty = signStandard(upwork.signingSecret, `msg_${randomUUID()}`, '');
      expectProblem(await t.http.post(upwork.webhookUrl).set(empty).send(''), 400);
      expect(await countEvents(upwork)).toBe(before);
    });

    it('refuses a signed body that is not UTF-8 as not JSON, rather than reading it as U+FFFD', async () => {
      const before = await countEvents(upwork);
      const text = JSON.stringify(payoutEvent({ client: { name: 'CLIENT', country: 'US' } }));
      const [head, tail] = text.split('CLIENT');
      const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0x41, 0xff, 0x42]), Buffer.from(tail)]);
      const id = `msg_${randomUUID()}`;
      const at = Math.floor(Date.now() / 1000);
      // Signed by hand: standardwebhooks@1.1.1's sign() turns a Buffer into a UTF-8 string first (0xff becomes
      // U+FFFD), so it cannot sign bytes that are not UTF-8 as they are sent.
      const key = Buffer.from(upwork.signingSecret.slice('whsec_'.length), 'base64');
      const mac = createHmac('sha256', key).update(`${id}.${at}.`).update(bytes).digest('base64');
      // Through Fastify's inject: supertest would turn a Buffer into JSON of its own.
      const res = await t.app
        .getHttpAdapter()
        .getInstance()
        .inject({
          method: 'POST',
          url: upwork.webhookUrl,
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(at),
            'webhook-signature': `v1,${mac}`,
          },
          payload: bytes,
        });
      expect(res.statusCode).toBe(400);
      expect(res.json().detail).toBe('The request body is not valid JSON.');
      expect(await countEvents(upwork)).toBe(before);
    });

    it('reads a signed JSON body as the event whatever media type it was labelled with', async () => {
      for (const mediaType of [
        'text/plain',
        'application/octet-stream',
        'application/x-www-form-urlencoded',
      ]) {
        const body = JSON.stringify(payoutEvent());
        const id = `msg_${randomUUID()}`;
        const headers = { ...signStandard(upwork.signingSecret, id, body), 'content-type': mediaType };
        const res = await t.http.post(upwork.webhookUrl).set(headers).send(body);
        expect({ mediaType, status: res.status, body: res.body }).toEqual({
          mediaType,
          status: 202,
          body: { eventId: id, duplicate: false },
        });
        expect((await storedEvent(upwork, id)).raw_body.toString('utf8')).toBe(body);
      }
    });

    it('answers a signed, deeply nested payload with 422 (kept for ops), never a 500', async () => {
      const event = JSON.stringify(payoutEvent()).replace(
        '"Web development, milestone 3"',
        `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      );
      const id = `msg_${randomUUID()}`;
      const res = await t.http
        .post(upwork.webhookUrl)
        .set(signStandard(upwork.signingSecret, id, event))
        .send(event);
      expectProblem(res, 422);
      expect((await storedEvent(upwork, id)).status).toBe('rejected');
    });

    it('takes a signed event holding a __proto__ key, dropping the key and keeping the raw body', async () => {
      const event = stripeEvent();
      const object = (event.data as { object: Record<string, unknown> }).object;
      // An own "__proto__" key, as JSON.parse makes it and JSON.stringify writes it.
      object.metadata = {
        ...(object.metadata as object),
        ...JSON.parse('{"__proto__": {"polluted": true}}'),
      };
      const res = await deliver(t.http, stripe, event).expect(202);
      const [stored] = await t.db.query(
        `SELECT status, convert_from(raw_body, 'UTF8') AS body FROM webhook_events
         WHERE connection_id = $1 AND event_id = $2`,
        [stripe.id, res.body.eventId],
      );
      expect(stored.status).toBe('accepted');
      expect(stored.body).toContain('"__proto__":{"polluted":true}');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('accepts a control character in a text an invoice prints, keeping U+FFFD in its place', async () => {
      const id = `msg_${randomUUID()}`;
      const platformPayoutId = unique('PO');
      const event = payoutEvent({ payoutId: platformPayoutId, description: 'milestone\u001b3\ttabbed' });
      await deliver(t.http, upwork, event, { id }).expect(202);
      const [payout] = await payoutsOf(upwork, platformPayoutId);
      expect(payout.description).toBe('milestone\ufffd3\ttabbed');
    });

    it('answers U+0000 in a signed payload with 202, 422 or as an ignored type, never a 500', async () => {
      const inText = unique('PO');
      await deliver(
        t.http,
        upwork,
        payoutEvent({ payoutId: inText, description: 'milestone\u00003' }),
      ).expect(202);
      expect((await payoutsOf(upwork, inText))[0].description).toBe('milestone\ufffd3');

      const withNul = payoutEvent({ payoutId: 'PO\u00003' });
      const id = `msg_${randomUUID()}`;
      const res = await deliver(t.http, upwork, withNul, { id });
      expectProblem(res, 422);
      expect(res.body.errors).toEqual([
        { field: 'data.payoutId', message: 'data.payoutId must not contain the NUL character' },
      ]);
      expect((await storedEvent(upwork, id)).status).toBe('rejected');

      const oddType = `msg_${randomUUID()}`;
      await deliver(t.http, upwork, payoutEvent({}, { type: 'payout.\u0000odd' }), { id: oddType }).expect(
        200,
      );
      expect(await storedEvent(upwork, oddType)).toEqual(
        expect.objectContaining({ status: 'ignored', event_type: 'payout.\ufffdodd' }),
      );
    });

    it('answers 413 problem+json to a body over 256 KiB and stores nothing', async () => {
      const before = await countEvents(upwork);
      const body = JSON.stringify(payoutEvent({ description: 'x'.repeat(256 * 1024) }));
      const res = await t.http
        .post(upwork.webhookUrl)
        .set(signStandard(upwork.signingSecret, `msg_${randomUUID()}`, body))
        .send(body);
      expectProblem(res, 413);
      expect(await countEvents(upwork)).toBe(before);
    });

    it.each([
      ['zero', 'data.amount', { amount: '0.00' }],
      ['negative', 'data.amount', { amount: '-10.00' }],
      ['three decimals', 'data.amount', { amount: '10.005' }],
      ['over the maximum', 'data.amount', { amount: '1000000.01' }],
      ['an amount as a JSON number', 'data.amount', { amount: 1250 }],
      ['non-USD', 'data.currency', { currency: 'EUR' }],
      ['a PK client', 'data.client.country', { client: { name: 'Lahore Traders', country: 'PK' } }],
      ['an unknown service category', 'data.serviceCategory', { serviceCategory: 'mining' }],
    ])('answers 422 to %s, naming %s, and keeps the event as rejected', async (_label, field, data) => {
      const event = payoutEvent(data);
      const id = `msg_${randomUUID()}`;
      const before = (await outcomes()).rejected ?? 0;
      const res = await deliver(t.http, upwork, event, { id });
      expectProblem(res, 422);
      expect(res.body.errors).toEqual([{ field, message: expect.any(String) }]);
      const stored = await storedEvent(upwork, id);
      expect(stored).toEqual(
        expect.objectContaining({
          status: 'rejected',
          errors: res.body.errors,
          payout_id: null,
          enqueued_at: null,
        }),
      );
      expect(await payoutsOf(upwork, (event.data as { payoutId: string }).payoutId)).toHaveLength(0);
      expect((await outcomes()).rejected).toBe(before + 1);
    });

    it('answers 200 to a type it does not act on, and keeps it as ignored', async () => {
      const id = `msg_${randomUUID()}`;
      const before = (await outcomes()).ignored ?? 0;
      const res = await deliver(
        t.http,
        upwork,
        { type: 'payout.cancelled', data: { payoutId: 'x' } },
        { id },
      );
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ eventId: id, duplicate: false });
      expect(await storedEvent(upwork, id)).toEqual(
        expect.objectContaining({ status: 'ignored', event_type: 'payout.cancelled', payout_id: null }),
      );
      expect((await outcomes()).ignored).toBe(before + 1);
    });

    it('answers 404 to an unknown connection, leaving nothing of it in Redis', async () => {
      const body = JSON.stringify(payoutEvent());
      const headers = signStandard(upwork.signingSecret, 'msg_x', body);
      const unknown = randomUUID();
      expectProblem(await t.http.post(`/v1/webhooks/${unknown}`).set(headers).send(body), 404);
      // No key of any kind names it: not its rotation epoch, not a rate-limit window.
      const redis = t.app.get(RedisService).client;
      const named: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `*${unknown}*`, 'COUNT', 1000);
        named.push(...keys);
        cursor = next;
      } while (cursor !== '0');
      expect(named).toEqual([]);
      expectProblem(await t.http.post('/v1/webhooks/not-a-connection').set(headers).send(body), 404);
    });

    it('verifies with the addressed connection’s own secret: another partner’s secret is 401', async () => {
      const other = await createPartner(t.http);
      const theirs = await createConnection(t.http, other.apiKey, 'upwork');
      const res = await deliver(t.http, theirs, payoutEvent(), { secret: upwork.signingSecret });
      expectProblem(res, 401);
      expect(await countEvents(theirs)).toBe(0);
      await deliver(t.http, theirs, payoutEvent()).expect(202);
      const [stored] = await eventsOf(theirs);
      expect(stored.partner_id).toBe(other.id);
    });
  });

  describe('stripe intake', () => {
    it('reads 125000 usd as 1250.00 USD and uses the Stripe event id', async () => {
      const event = stripeEvent({ amount: 125000 }, { client_country: 'DE' });
      const res = await deliver(t.http, stripe, event);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ eventId: event.id, duplicate: false });
      const object = (event.data as { object: { id: string } }).object;
      const [payout] = await payoutsOf(stripe, object.id);
      expect(payout).toEqual(
        expect.objectContaining({
          platform: 'stripe',
          gross: '1250.00',
          currency: 'USD',
          client_name: 'Acme Inc',
          client_country: 'DE',
          service_category: 'graphic_design',
          description: 'Design work, November',
        }),
      );
    });

    it('accepts a Stripe object without a description, describing the service by its category', async () => {
      const event = stripeEvent({ description: null });
      await deliver(t.http, stripe, event).expect(202);
      const [payout] = await payoutsOf(stripe, (event.data as { object: { id: string } }).object.id);
      expect(payout.description).toBe('Graphic design services');
    });

    it('acts on payout.paid too', async () => {
      await deliver(t.http, stripe, stripeEvent({}, {}, { type: 'payout.paid' })).expect(202);
    });

    it('answers 200 duplicate to the same Stripe event id, whatever the body', async () => {
      const event = stripeEvent();
      await deliver(t.http, stripe, event).expect(202);
      const again = await deliver(t.http, stripe, { ...stripeEvent({ amount: 5 }), id: event.id });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ eventId: event.id, duplicate: true });
    });

    it("keys a stripe-scheme connection of another platform by the event's own id too", async () => {
      const deel = await createConnection(t.http, partner.apiKey, 'deel', 'stripe');
      const event = { ...payoutEvent(), id: unique('evt_deel') };
      const first = await deliver(t.http, deel, event, { date: new Date(Date.now() - 60_000) });
      expect(first.status).toBe(202);
      expect(first.body).toEqual({ eventId: event.id, duplicate: false });
      const again = await deliver(t.http, deel, { ...event, timestamp: new Date().toISOString() });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ eventId: event.id, duplicate: true });
      expect(await countEvents(deel)).toBe(1);
    });

    it('refuses a tampered body, a base64-keyed signature, a stale timestamp and a missing header', async () => {
      const before = await countEvents(stripe);
      const body = JSON.stringify(stripeEvent());
      const tampered = signStripe(stripe.signingSecret, body);
      expectProblem(
        await t.http.post(stripe.webhookUrl).set(tampered).send(body.replace('125000', '925000')),
        401,
      );
      const standardSigned = signStandard(stripe.signingSecret, 'msg_s', body);
      expectProblem(await t.http.post(stripe.webhookUrl).set(standardSigned).send(body), 401);
      const stale = signStripe(stripe.signingSecret, body, Math.floor(Date.now() / 1000) - 301);
      expectProblem(await t.http.post(stripe.webhookUrl).set(stale).send(body), 401);
      // 302: 301 s ahead could read as 300 when a second boundary passes between signing and checking.
      const ahead = signStripe(stripe.signingSecret, body, Math.floor(Date.now() / 1000) + 302);
      expectProblem(await t.http.post(stripe.webhookUrl).set(ahead).send(body), 401);
      expectProblem(
        await t.http.post(stripe.webhookUrl).set({ 'content-type': 'application/json' }).send(body),
        401,
      );
      expect(await countEvents(stripe)).toBe(before);
    });

    it('passes when one of several v1 signatures matches', async () => {
      const body = JSON.stringify(stripeEvent());
      const good = signStripe(stripe.signingSecret, body)['stripe-signature'];
      const old = signStripe('whsec_old', body)['stripe-signature'];
      const rotated = `${good},v1=${old.split('v1=')[1]}`;
      await t.http
        .post(stripe.webhookUrl)
        .set({ 'content-type': 'application/json', 'stripe-signature': rotated })
        .send(body)
        .expect(202);
    });

    it.each([
      ['zero', 'data.object.amount', { amount: 0 }, {}],
      ['negative', 'data.object.amount', { amount: -500 }, {}],
      ['fractional cents', 'data.object.amount', { amount: 1250.5 }, {}],
      ['over the maximum', 'data.object.amount', { amount: 100000001 }, {}],
      ['non-USD', 'data.object.currency', { currency: 'eur' }, {}],
      ['a PK client', 'data.object.metadata.client_country', {}, { client_country: 'PK' }],
    ])('answers 422 to %s, naming %s', async (_label, field, object, metadata) => {
      const event = stripeEvent(object, metadata);
      const res = await deliver(t.http, stripe, event);
      expectProblem(res, 422);
      expect(res.body.errors).toEqual([{ field, message: expect.any(String) }]);
      expect((await storedEvent(stripe, event.id as string)).status).toBe('rejected');
    });

    it('answers 200 to an event type it does not act on, and keeps it as ignored', async () => {
      const event = stripeEvent({}, {}, { type: 'charge.succeeded' });
      const res = await deliver(t.http, stripe, event);
      expect(res.status).toBe(200);
      expect((await storedEvent(stripe, event.id as string)).status).toBe('ignored');
    });
  });

  describe('a connection whose scheme the partner chose', () => {
    const stripeObjectId = (event: Record<string, unknown>) =>
      (event.data as { object: { id: string } }).object.id;

    it('takes the stripe payload on a deel connection signed the stripe way, and the standard one still', async () => {
      const deel = await createConnection(t.http, partner.apiKey, 'deel', 'stripe');
      const event = stripeEvent();
      await deliver(t.http, deel, event).expect(202);
      expect(await payoutsOf(deel, stripeObjectId(event))).toEqual([
        expect.objectContaining({ gross: '1250.00', freelancer_ref: 'fl-42' }),
      ]);
      // The standard payload, under the stripe scheme, names its event by a top-level id.
      const standard: Record<string, unknown> = { ...payoutEvent(), id: `evt_${randomUUID()}` };
      await deliver(t.http, deel, standard).expect(202);
      expect(await payoutsOf(deel, (standard.data as { payoutId: string }).payoutId)).toHaveLength(1);
    });

    it('takes the standard payload on a stripe connection signed the standard-webhooks way, and the stripe one still', async () => {
      const connection = await createConnection(t.http, partner.apiKey, 'stripe', 'standard-webhooks');
      const standard = payoutEvent();
      await deliver(t.http, connection, standard).expect(202);
      expect(await payoutsOf(connection, (standard.data as { payoutId: string }).payoutId)).toHaveLength(1);
      const event = stripeEvent();
      await deliver(t.http, connection, event).expect(202);
      expect(await payoutsOf(connection, stripeObjectId(event))).toHaveLength(1);
    });

    it('names the fields of the shape that carried a payout type, and ignores a type neither shape acts on', async () => {
      const deel = await createConnection(t.http, partner.apiKey, 'deel', 'stripe');
      const bad = stripeEvent({ amount: 0 });
      const res = await deliver(t.http, deel, bad);
      expectProblem(res, 422);
      expect(res.body.errors).toEqual([{ field: 'data.object.amount', message: expect.any(String) }]);
      const other = stripeEvent({}, {}, { type: 'charge.succeeded' });
      expect((await deliver(t.http, deel, other)).status).toBe(200);
      expect((await storedEvent(deel, other.id as string)).status).toBe('ignored');
    });

    it('keeps a platform on its own shape when its scheme is the usual one', async () => {
      const event = stripeEvent();
      const id = `msg_${randomUUID()}`;
      expect((await deliver(t.http, upwork, event, { id })).status).toBe(200);
      expect((await storedEvent(upwork, id)).status).toBe('ignored');
    });
  });

  it('documents every webhook endpoint in /docs-json', async () => {
    const res = await t.http.get('/docs-json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/webhooks/{connectionId}',
        '/v1/platform-connections',
        '/v1/platform-connections/{id}',
        '/v1/ops/events',
      ]),
    );
  });

  describe('ops events', () => {
    it('lists rejected events with their errors, and filters by status', async () => {
      const event = payoutEvent({ amount: '0.00' });
      const id = `msg_${randomUUID()}`;
      await deliver(t.http, upwork, event, { id }).expect(422);
      const res = await t.http.get('/v1/ops/events?status=rejected&limit=100').set(ops).expect(200);
      const found = res.body.data.find((e: { eventId: string }) => e.eventId === id);
      expect(found).toEqual({
        id: expect.any(String),
        connectionId: upwork.id,
        partnerId: partner.id,
        eventId: id,
        type: 'payout.available',
        status: 'rejected',
        errors: [{ field: 'data.amount', message: expect.any(String) }],
        payoutId: null,
        payoutStatus: null,
        rawBody: JSON.stringify(event),
        headers: expect.objectContaining({ 'webhook-id': id }),
        receivedAt: expect.any(String),
      });
      expect(res.body.data.every((e: { status: string }) => e.status === 'rejected')).toBe(true);
      expect(JSON.stringify(res.body)).not.toContain(upwork.signingSecret);
      await deliver(t.http, upwork, payoutEvent({}, { type: 'payout.cancelled' })).expect(200);
      const ignored = await t.http.get('/v1/ops/events?status=ignored&limit=100').set(ops).expect(200);
      expect(ignored.body.data.length).toBeGreaterThan(0);
      expect(ignored.body.data.every((e: { status: string }) => e.status === 'ignored')).toBe(true);
      const acceptedId = `msg_${randomUUID()}`;
      await deliver(t.http, upwork, payoutEvent(), { id: acceptedId }).expect(202);
      const accepted = await t.http.get('/v1/ops/events?status=accepted&limit=5').set(ops).expect(200);
      expect(accepted.body.data.map((e: { eventId: string }) => e.eventId)).toContain(acceptedId);
      expect(accepted.body.data.every((e: { payoutId: string | null }) => e.payoutId !== null)).toBe(true);
    });

    it('walks every event once with cursors', async () => {
      // Events stored while the walk runs may or may not show up; every event stored before it must, once.
      const before: { id: string }[] = await t.db.query(`SELECT id FROM webhook_events`);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { data: { id: string }[]; nextCursor: string | null } } = await t.http
          .get(`/v1/ops/events?limit=7${cursor ? `&cursor=${cursor}` : ''}`)
          .set(ops)
          .expect(200);
        seen.push(...res.body.data.map((e) => e.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(before.map((e) => e.id).filter((id) => !seen.includes(id))).toEqual([]);
    });

    describe('reading a stored event again', () => {
      const reprocess = (rowId: string) => t.http.post(`/v1/ops/events/${rowId}/reprocess`).set(ops);
      /**
       * A Stripe-shaped payout stored as `ignored` on a Deel connection with the stripe scheme, as intake did
       * before it read that shape there: the row an older adapter left behind.
       */
      const ignoredByAnOlderAdapter = async (
        connection: Connection,
        object: Record<string, unknown> = {},
      ) => {
        const event = stripeEvent(object);
        const [row] = await t.db.query(
          `INSERT INTO webhook_events (connection_id, partner_id, event_id, event_type, status, raw_body, headers)
           VALUES ($1, $2, $3, 'transfer.created', 'ignored', $4, '{}') RETURNING id`,
          [connection.id, partner.id, event.id, Buffer.from(JSON.stringify(event))],
        );
        return {
          rowId: row.id as string,
          platformPayoutId: (event.data as { object: { id: string } }).object.id,
        };
      };

      it('makes the payout an ignored event now carries, once, and hands it to routing', async () => {
        const deel = await createConnection(t.http, partner.apiKey, 'deel', 'stripe');
        const { rowId, platformPayoutId } = await ignoredByAnOlderAdapter(deel);
        const res = await reprocess(rowId).expect(200);
        expect(res.body).toMatchObject({
          id: rowId,
          status: 'accepted',
          errors: null,
          payoutId: expect.any(String),
          payoutStatus: 'received',
        });
        const payouts = await payoutsOf(deel, platformPayoutId);
        expect(payouts).toEqual([expect.objectContaining({ id: res.body.payoutId, gross: '1250.00' })]);
        expect(await waitFor(() => routeJob(rowId), { what: 'the route job' })).toBeTruthy();

        const again = await Promise.all([reprocess(rowId), reprocess(rowId)]);
        expect(again.map((r) => r.status)).toEqual([200, 200]);
        expect(again.map((r) => r.body.payoutId)).toEqual([res.body.payoutId, res.body.payoutId]);
        expect(await payoutsOf(deel, platformPayoutId)).toHaveLength(1);
      });

      it('makes one payout when ops reads the same event again many times at once', async () => {
        const deel = await createConnection(t.http, partner.apiKey, 'deel', 'stripe');
        const { rowId, platformPayoutId } = await ignoredByAnOlderAdapter(deel);
        const answers = await Promise.all(Array.from({ length: 8 }, () => reprocess(rowId)));
        expect(new Set(answers.map((r) => r.status))).toEqual(new Set([200]));
        const payouts = await payoutsOf(deel, platformPayoutId);
        expect(payouts).toHaveLength(1);
        expect(new Set(answers.map((r) => r.body.payoutId))).toEqual(new Set([payouts[0].id]));
      });

      it('keeps an event rejected, with the reasons of today, when it still makes no payout', async () => {
        const id = `msg_${randomUUID()}`;
        await deliver(t.http, upwork, payoutEvent({ amount: '0.00' }), { id }).expect(422);
        const stored = await storedEvent(upwork, id);
        await t.db.query(
          `UPDATE webhook_events SET errors = '[{"field":"x","message":"old"}]' WHERE id = $1`,
          [stored.id],
        );
        const res = await reprocess(stored.id).expect(200);
        expect(res.body).toMatchObject({
          status: 'rejected',
          payoutId: null,
          errors: [{ field: 'data.amount', message: expect.stringContaining('more than zero') }],
        });
      });

      it('links an event about a payout already received to it, making no second one', async () => {
        const deel = await createConnection(t.http, partner.apiKey, 'deel', 'stripe');
        const first = stripeEvent();
        await deliver(t.http, deel, first).expect(202);
        const object = (first.data as { object: { id: string } }).object;
        const { rowId } = await ignoredByAnOlderAdapter(deel, { id: object.id });
        const res = await reprocess(rowId).expect(200);
        const payouts = await payoutsOf(deel, object.id);
        expect(payouts).toHaveLength(1);
        expect(res.body).toMatchObject({ status: 'accepted', payoutId: payouts[0].id });
      });

      it('refuses (409) to read again an event whose connection is deleted while it is read, storing no payout', async () => {
        const deel = await createConnection(t.http, partner.apiKey, 'deel', 'stripe');
        const { rowId, platformPayoutId } = await ignoredByAnOlderAdapter(deel);
        const events = t.app.get(WebhookEventsService);
        const store = events.acceptWithPayout.bind(events);
        const deleted = jest.spyOn(events, 'acceptWithPayout').mockImplementationOnce(async (...args) => {
          await t.http.delete(`/v1/platform-connections/${deel.id}`).set(bearer(partner.apiKey)).expect(204);
          return store(...args);
        });
        try {
          expectProblem(await reprocess(rowId), 409);
        } finally {
          deleted.mockRestore();
        }
        expect(await payoutsOf(deel, platformPayoutId)).toEqual([]);
      });

      it('answers an accepted event as it is, refuses a deleted connection’s, and needs the ops token', async () => {
        const id = `msg_${randomUUID()}`;
        await deliver(t.http, upwork, payoutEvent(), { id }).expect(202);
        const accepted = await storedEvent(upwork, id);
        const res = await reprocess(accepted.id).expect(200);
        expect(res.body).toMatchObject({ id: accepted.id, status: 'accepted', payoutId: accepted.payout_id });

        const deel = await createConnection(t.http, partner.apiKey, 'deel', 'stripe');
        const { rowId } = await ignoredByAnOlderAdapter(deel);
        await t.http.delete(`/v1/platform-connections/${deel.id}`).set(bearer(partner.apiKey)).expect(204);
        expectProblem(await reprocess(rowId), 409);
        expect((await t.db.query(`SELECT status FROM webhook_events WHERE id = $1`, [rowId]))[0].status).toBe(
          'ignored',
        );
        expectProblem(await reprocess('00000000-0000-4000-8000-000000000000'), 404);
        expectProblem(await reprocess('not-a-uuid'), 404);
        expectProblem(
          await t.http.post(`/v1/ops/events/${rowId}/reprocess`).set(bearer(partner.apiKey)),
          401,
        );
      });
    });

    it('needs the ops token and a known status', async () => {
      expectProblem(await t.http.get('/v1/ops/events'), 401);
      expectProblem(await t.http.get('/v1/ops/events').set(bearer(partner.apiKey)), 401);
      const res = await t.http.get('/v1/ops/events?status=lost').set(ops);
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'status' })]);
    });
  });
});

describe('webhook rate limit (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ WEBHOOK_RATE_LIMIT_PER_SECOND: '3' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers 429 problem+json with Retry-After past the per-connection limit', async () => {
    const partner = await createPartner(t.http);
    const connection = await createConnection(t.http, partner.apiKey, 'upwork');
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => deliver(t.http, connection, payoutEvent())),
    );
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expectProblem(limited[0], 429);
    expect(limited[0].headers['retry-after']).toBe('1');
    expect(answers.filter((a) => a.status === 202).length).toBeLessThanOrEqual(6);
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM webhook_events WHERE connection_id = $1`,
      [connection.id],
    );
    expect(n).toBe(answers.filter((a) => a.status === 202).length);
    const redis = t.app.get(RedisService).client;
    await expectExactLimit(
      redis,
      `rl:webhook-connection:${connection.id}`,
      3,
      () => deliver(t.http, connection, payoutEvent()),
      202,
    );
    await expectExactLimit(
      redis,
      `rl:webhook-connection-unverified:${connection.id}`,
      3,
      () => deliver(t.http, connection, payoutEvent(), { secret: `whsec_${'A'.repeat(43)}=` }),
      401,
    );
  });

  it('answers 404, not 429, to a connection another replica deleted, however full its window', async () => {
    // This replica holds a copy of the connection; the other deletes it, moving the epoch this one reads.
    const other = await startApp({ WEBHOOK_RATE_LIMIT_PER_SECOND: '3' });
    try {
      const partner = await createPartner(other.http);
      const connection = await createConnection(other.http, partner.apiKey, 'upwork');
      expect((await deliver(t.http, connection, payoutEvent())).status).toBe(202);
      const redis = t.app.get(RedisService).client;
      await fillWindow(redis, `rl:webhook-connection:${connection.id}`, 3);
      await other.http
        .delete(`/v1/platform-connections/${connection.id}`)
        .set(bearer(partner.apiKey))
        .expect(204);
      expectProblem(await deliver(t.http, connection, payoutEvent()), 404);
      await redis.del(`rl:webhook-connection:${connection.id}`);
    } finally {
      await other.close();
    }
  });

  it('counts forgeries apart: a flood of bad signatures never throttles the platform’s own deliveries', async () => {
    const partner = await createPartner(t.http);
    const connection = await createConnection(t.http, partner.apiKey, 'upwork');
    const forged = await Promise.all(
      Array.from({ length: 12 }, () =>
        deliver(t.http, connection, payoutEvent(), { secret: `whsec_${'A'.repeat(43)}=` }),
      ),
    );
    expect(new Set(forged.map((a) => a.status))).toEqual(new Set([401, 429]));
    expectProblem(
      forged.find((a) => a.status === 429)!,
      429,
    );
    const genuine = await deliver(t.http, connection, payoutEvent());
    expect(genuine.status).toBe(202);
  });
});

describe('webhook intake while Redis is down (e2e)', () => {
  it('answers 202 with the event stored, and the sweeper queues it once Redis is back', async () => {
    const api = await startApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    const eventId = `msg_${randomUUID()}`;
    let connection: Connection;
    try {
      const partner = await createPartner(api.http);
      connection = await createConnection(api.http, partner.apiKey, 'upwork');
      const res = await deliver(api.http, connection, payoutEvent(), { id: eventId });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ eventId, duplicate: false });
      const [stored] = await api.db.query(
        `SELECT status, payout_id, enqueued_at FROM webhook_events WHERE connection_id = $1 AND event_id = $2`,
        [connection.id, eventId],
      );
      expect(stored).toEqual({ status: 'accepted', payout_id: expect.any(String), enqueued_at: null });
    } finally {
      await api.close();
    }

    const worker = await startApp({ SWEEP_INTERVAL_MS: '100' }, { role: 'worker' });
    try {
      const [event] = await worker.db.query(
        `SELECT id, payout_id FROM webhook_events WHERE connection_id = $1 AND event_id = $2`,
        [connection.id, eventId],
      );
      const queues = worker.app.get(PayoutQueues);
      const job = await waitFor(() => queues.route.getJob(JobIds.routeFromEvent(event.id)), {
        what: 'the swept route job',
      });
      expect(job.data.payoutId).toBe(event.payout_id);
      await waitFor(
        async () => {
          const [row] = await worker.db.query(`SELECT enqueued_at FROM webhook_events WHERE id = $1`, [
            event.id,
          ]);
          return row.enqueued_at !== null;
        },
        { what: 'enqueued_at to be set' },
      );
    } finally {
      await worker.close();
    }
  });
});

describe('a Redis that hangs (e2e)', () => {
  it('holds no request: intake stores and answers 202, the partner API and /metrics answer', async () => {
    const relay = await PausableRedisRelay.start(loadConfig().redisUrl);
    const api = await startApp({ REDIS_URL: relay.url, REDIS_COMMAND_TIMEOUT_MS: '200' });
    try {
      const partner = await createPartner(api.http);
      const connection = await createConnection(api.http, partner.apiKey, 'upwork');
      await api.http.get('/v1/freelancers').set(bearer(partner.apiKey)).expect(200);
      relay.pause();
      const eventId = `msg_${randomUUID()}`;
      // supertest's timeout fails the test where a request would wait for Redis to answer.
      const res = await deliver(api.http, connection, payoutEvent(), { id: eventId }).timeout(5000);
      expect(res.status).toBe(202);
      const [stored] = await api.db.query(
        `SELECT status FROM webhook_events WHERE connection_id = $1 AND event_id = $2`,
        [connection.id, eventId],
      );
      expect(stored).toEqual({ status: 'accepted' });
      await api.http.get('/v1/freelancers').set(bearer(partner.apiKey)).timeout(5000).expect(200);
      await api.http.get('/metrics').timeout(5000).expect(200);
      expect((await api.http.get('/health/ready').timeout(5000)).status).toBe(503);
      const dashboard = await api.http.get('/admin/queues/api/queues').set(ops).timeout(5000);
      expect(dashboard.status).toBe(503);
      expect(dashboard.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(dashboard.headers['retry-after']).toBe('5');
      relay.resume();
      await api.http.get('/admin/queues/api/queues').set(ops).timeout(5000).expect(200);
    } finally {
      relay.resume();
      await api.close();
      await relay.close();
    }
  });
});

describe('a worker that loses Redis (e2e)', () => {
  it('logs what its queues report as JSON lines, never a stack trace on standard error', async () => {
    const relay = await PausableRedisRelay.start(loadConfig().redisUrl);
    const worker = await startApp({ REDIS_URL: relay.url }, { role: 'worker' });
    const { stream, lines } = captureLines();
    worker.app.useLogger(new AppLogger(createRootLogger('warn', stream)));
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      relay.down();
      // A queue is used while Redis is gone, as an enqueue would use it: the queue reports too.
      void worker.app
        .get(PayoutQueues)
        .send.getJobCounts('waiting')
        .catch(() => undefined);
      const reported = (pattern: RegExp) => lines.some((line) => pattern.test(String(line.msg)));
      await waitFor(
        async () =>
          printed.mock.calls.length > 0 ||
          (reported(/^Worker of send-payout reported:/) && reported(/^Queue \S+ cannot reach Redis/)),
        { what: 'the send worker and a queue to report the lost connection (or a print on standard error)' },
      );
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
      relay.up();
      // Closed once its queues are back, so no connection is left reconnecting after the test.
      const queues = worker.app.get(PayoutQueues);
      await waitFor(
        () =>
          queues.send.getJobCounts('waiting').then(
            () => true,
            () => false,
          ),
        { what: 'the queues to reach Redis again' },
      );
      await worker.close();
      await relay.close();
    }
  });
});

describe('webhook events in the pipeline (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({}, { role: 'all' });
  });

  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['a payout event', 'acceptWithPayout', (ref: string) => payoutEvent({ freelancerRef: ref })],
    ['an ignored type', 'insertUnrouted', () => ({ type: 'payout.cancelled', data: {} })],
    [
      'a rejected payout event',
      'insertUnrouted',
      (ref: string) => payoutEvent({ freelancerRef: ref, amount: '0.00' }),
    ],
  ] as const)(
    'stores nothing of %s for a connection whose deletion was answered before the event was stored',
    async (_what, step, event) => {
      const partner = await createPartner(t.http);
      const connection = await createConnection(t.http, partner.apiKey, 'upwork');
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const events = t.app.get(WebhookEventsService);
      const store = (events[step] as (...args: unknown[]) => Promise<unknown>).bind(events);
      // Intake has checked the signature against the connection; the partner deletes it now, and is answered 204.
      const deleted = jest.spyOn(events, step).mockImplementationOnce((async (...args: unknown[]) => {
        await t.http
          .delete(`/v1/platform-connections/${connection.id}`)
          .set(bearer(partner.apiKey))
          .expect(204);
        return store(...args);
      }) as never);
      try {
        const res = await deliver(t.http, connection, event(freelancer.externalRef));
        expectProblem(res, 404);
      } finally {
        deleted.mockRestore();
      }
      expect(await t.db.query(`SELECT id FROM payouts WHERE connection_id = $1`, [connection.id])).toEqual(
        [],
      );
      expect(
        await t.db.query(`SELECT id FROM webhook_events WHERE connection_id = $1`, [connection.id]),
      ).toEqual([]);
    },
  );

  it('shows ops the events whose payout found no freelancer as unmatched, until a retry matches it', async () => {
    const partner = await createPartner(t.http);
    const connection = await createConnection(t.http, partner.apiKey, 'upwork');
    const eventId = `msg_${randomUUID()}`;
    const freelancerRef = unique('unknown');
    await deliver(t.http, connection, payoutEvent({ freelancerRef }), {
      id: eventId,
    }).expect(202);
    const [event] = await t.db.query(`SELECT id, payout_id FROM webhook_events WHERE connection_id = $1`, [
      connection.id,
    ]);
    await waitFor(
      async () => {
        const [payout] = await t.db.query(`SELECT status FROM payouts WHERE id = $1`, [event.payout_id]);
        return payout.status === 'unmatched';
      },
      { what: 'the payout to be unmatched' },
    );
    const listed = async (status: string): Promise<{ id: string; status: string; payoutStatus: string }[]> =>
      (await t.http.get(`/v1/ops/events?status=${status}&limit=100`).set(ops).expect(200)).body.data;
    const unmatched = await listed('unmatched');
    expect(unmatched.map((e) => e.id)).toContain(event.id);
    expect(unmatched.every((e) => e.status === 'unmatched' && e.payoutStatus === 'unmatched')).toBe(true);
    expect(unmatched.find((e) => e.id === event.id)).toEqual(
      expect.objectContaining({ eventId, status: 'unmatched', payoutId: event.payout_id }),
    );
    expect((await listed('accepted')).map((e) => e.id)).not.toContain(event.id);

    // The partner registers the freelancer and ops retry: the event is an accepted one again.
    await createFreelancer(t.http, partner.apiKey, { externalRef: freelancerRef });
    await t.http.post(`/v1/ops/payouts/${event.payout_id}/retry`).set(ops).expect(200);
    expect((await listed('unmatched')).map((e) => e.id)).not.toContain(event.id);
    expect((await listed('accepted')).find((e) => e.id === event.id)).toEqual(
      expect.objectContaining({ status: 'accepted', payoutId: event.payout_id }),
    );
  });
});

describe('webhooks: one partner never reaches another partner’s connections or payouts (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('makes a payout for each connection when two partners’ platforms use the same platform payout id', async () => {
    const a = await createPartner(t.http);
    const b = await createPartner(t.http);
    const ca = await createConnection(t.http, a.apiKey, 'upwork');
    const cb = await createConnection(t.http, b.apiKey, 'upwork');
    const payoutId = unique('UPW-PO');
    await deliver(t.http, ca, payoutEvent({ payoutId, freelancerRef: 'fl-a' })).expect(202);
    await deliver(t.http, cb, payoutEvent({ payoutId, freelancerRef: 'fl-a' })).expect(202);
    const rows = await t.db.query(
      `SELECT connection_id FROM payouts WHERE platform_payout_id = $1 ORDER BY connection_id`,
      [payoutId],
    );
    expect(rows.map((r: { connection_id: string }) => r.connection_id).sort()).toEqual([ca.id, cb.id].sort());
  });

  it('answers 404 to another partner deleting a connection, and the connection keeps working', async () => {
    const a = await createPartner(t.http);
    const b = await createPartner(t.http);
    const ca = await createConnection(t.http, a.apiKey, 'upwork');
    await t.http.delete(`/v1/platform-connections/${ca.id}`).set(bearer(b.apiKey)).expect(404);
    await t.http.get(`/v1/platform-connections/${ca.id}`).set(bearer(a.apiKey)).expect(200);
    await deliver(t.http, ca, payoutEvent()).expect(202);
  });
});
