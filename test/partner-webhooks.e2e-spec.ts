import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { PartnerEventsDispatcher } from '../src/notifications/partner-events.dispatcher';
import { DEFAULT_EVENT_TYPES } from '../src/notifications/partner-events';
import { WebhookDeliveryService } from '../src/notifications/webhook-delivery.service';
import { MAX_ENDPOINTS_PER_PARTNER } from '../src/notifications/webhook-endpoints.service';
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
import { announcePayout, Connection, createConnection } from './support/webhooks';
import { OwnDatabase } from './support/own-database';
import { resetSandbox } from './support/payouts';
import { expectProblem } from './support/problem';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { JobIds, QUEUES } from '../src/queues/queues';

interface PartnerEvent {
  type: string;
  data: Record<string, unknown>;
}

interface Receipt {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/**
 * A partner's webhook receiver: records every request; `/flaky/…` answers 500 to the first try of each
 * message, `/refuse/…` always answers 500, anything else 200.
 */
/**
 * An event already fanned out, and its delivery as a worker killed mid-send leaves it: attempt `attempts` claimed,
 * its in-flight window over, no outcome recorded. The dispatcher leaves it alone (queued just now).
 */
async function cutOffDelivery(
  t: TestApp,
  partnerId: string,
  endpointId: string,
  attempts: number,
): Promise<{ id: string }> {
  const [event] = await t.db.query(
    `INSERT INTO partner_events (partner_id, type, source, source_id, payload, fanned_out_at)
     VALUES ($1, 'payout.settled', 'payout_timeline', -floor(random() * 1e12)::bigint, '{"payoutId":"x"}', now())
     RETURNING id`,
    [partnerId],
  );
  const [delivery] = await t.db.query(
    `INSERT INTO webhook_deliveries (event_id, endpoint_id, partner_id, attempts, last_attempt_at, in_flight_until,
                                     next_attempt_at, enqueued_at)
     VALUES ($1, $2, $3, $4, now() - interval '1 minute', now() - interval '1 second', now(), now())
     RETURNING id`,
    [event.id, endpointId, partnerId, attempts],
  );
  return delivery;
}

class Receiver {
  readonly receipts: Receipt[] = [];
  /** Paths that answer 500 for now, whatever their name says. */
  readonly refusing = new Set<string>();
  private server: Server;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '/';
        const id = String(req.headers['webhook-id']);
        const seen = this.receipts.some((r) => r.path === path && r.headers['webhook-id'] === id);
        const refuse =
          path.startsWith('/refuse') || this.refusing.has(path) || (path.startsWith('/flaky') && !seen);
        const answered = refuse ? 500 : 200;
        this.receipts.push({
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          answered,
        });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  at(path: string): Receipt[] {
    return this.receipts.filter((r) => r.path === path);
  }

  /** The bodies received at `path`, each checked with the official Standard Webhooks library (throws if one fails). */
  verifiedAt(path: string, secret: string): PartnerEvent[] {
    const wh = new Webhook(secret);
    return this.at(path).map(
      (r) =>
        wh.verify(r.body, {
          'webhook-id': String(r.headers['webhook-id']),
          'webhook-timestamp': String(r.headers['webhook-timestamp']),
          'webhook-signature': String(r.headers['webhook-signature']),
        }) as PartnerEvent,
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('partner webhooks (e2e, CONTRACT.md §5)', () => {
  let t: TestApp;
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startApp(
      {
        SANDBOX_SETTLE_AFTER_MS: '50',
        BREAKER_FAILURE_THRESHOLD: '1000',
        PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS: '100',
        PARTNER_WEBHOOK_RETRY_BASE_MS: '200',
        PARTNER_WEBHOOK_TIMEOUT_MS: '2000',
      },
      { role: 'all' },
    );
  });

  afterAll(async () => {
    await resetSandbox(t.http);
    await t.close();
    await receiver.close();
  });

  async function register(apiKey: string, url: string, key?: string) {
    const req = t.http.post('/v1/webhook-endpoints').set(bearer(apiKey));
    if (key) void req.set('Idempotency-Key', key);
    const res = await req.send({ url }).expect(201);
    return res.body as { id: string; url: string; events: string[]; secret: string; createdAt: string };
  }

  function announce(connection: Connection, freelancerRef: string, amount: string): Promise<string> {
    return announcePayout(t, connection, freelancerRef, amount);
  }

  it('registers an endpoint, shows its secret once and stores it only encrypted', async () => {
    const partner = await createPartner(t.http);
    const url = receiver.url('/register');
    const created = await register(partner.apiKey, url);
    expect(created).toEqual({
      id: expect.any(String),
      url,
      events: DEFAULT_EVENT_TYPES,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      createdAt: expect.any(String),
      previousSecretExpiresAt: null,
    });

    const list = await t.http.get('/v1/webhook-endpoints').set(bearer(partner.apiKey)).expect(200);
    expect(list.body).toEqual({
      data: [
        {
          id: created.id,
          url,
          events: DEFAULT_EVENT_TYPES,
          createdAt: created.createdAt,
          previousSecretExpiresAt: null,
        },
      ],
      nextCursor: null,
    });

    const [row] = await t.db.query(`SELECT secret_ciphertext, url FROM webhook_endpoints WHERE id = $1`, [
      created.id,
    ]);
    const stored = row.secret_ciphertext as Buffer;
    const rawKey = Buffer.from(created.secret.slice('whsec_'.length), 'base64');
    expect(stored.includes(Buffer.from(created.secret))).toBe(false);
    expect(stored.includes(rawKey)).toBe(false);
    const anywhere = await t.db.query(
      `SELECT count(*)::int AS n FROM idempotency_keys WHERE response_body::text LIKE '%' || $1 || '%'`,
      [created.secret.slice(6, 30)],
    );
    expect(anywhere[0].n).toBe(0);
  });

  it('registers at most MAX_ENDPOINTS_PER_PARTNER endpoints per partner, even when asked at once', async () => {
    const partner = await createPartner(t.http);
    const key = unique('idem');
    const first = await register(partner.apiKey, receiver.url('/cap/0'), key);
    const answers = await Promise.all(
      Array.from({ length: MAX_ENDPOINTS_PER_PARTNER + 2 }, (_, i) =>
        t.http
          .post('/v1/webhook-endpoints')
          .set(bearer(partner.apiKey))
          .send({ url: receiver.url(`/cap/${i + 1}`) }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(MAX_ENDPOINTS_PER_PARTNER - 1);
    const refused = answers.filter((a) => a.status !== 201);
    expect(refused).toHaveLength(3);
    refused.forEach((a) => expectProblem(a, 409));
    // A replay is not a new endpoint: it still answers the first one.
    expect((await register(partner.apiKey, receiver.url('/cap/0'), key)).id).toBe(first.id);
    // A refused registration leaves its key free, for this url or another.
    const refusedKey = unique('idem');
    expectProblem(
      await t.http
        .post('/v1/webhook-endpoints')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', refusedKey)
        .send({ url: receiver.url('/cap/refused') }),
      409,
    );
    await t.http.delete(`/v1/webhook-endpoints/${first.id}`).set(bearer(partner.apiKey)).expect(204);
    await register(partner.apiKey, receiver.url('/cap/after-delete'), refusedKey);
  });

  it('replays a registration for the same Idempotency-Key and refuses it for another url', async () => {
    const partner = await createPartner(t.http);
    const key = unique('idem');
    const first = await register(partner.apiKey, receiver.url('/idem'), key);
    const again = await t.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .set('Idempotency-Key', key)
      .send({ url: receiver.url('/idem') })
      .expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first);
    await t.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .set('Idempotency-Key', key)
      .send({ url: receiver.url('/other') })
      .expect(422);
    // A malformed body is another request for that key too: 422, not 400.
    await t.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .set('Idempotency-Key', key)
      .send({ url: 'not a url' })
      .expect(422);
  });

  it.each([
    [{ url: 'not-a-url' }, 'url must be an absolute https:// URL'],
    [
      { url: 'https://hooks.example.com/a b' },
      'url must be printable ASCII without white space or backslashes (percent-encode the rest, give host names in punycode): the parser would change them',
    ],
    [{ url: 'http://hooks.example.com/x' }, 'url must use https://'],
    [{ url: 'https://user:pw@hooks.example.com/x' }, 'url must not carry a user name or password'],
    [{ url: 'https://hooks.example.com/x#part' }, 'url must not carry a fragment (#…): it is never sent'],
    [{ url: 42 }, 'url must be a string'],
    [{}, 'url is required'],
  ])('refuses %j with a 400 naming url and stores nothing', async (body, message) => {
    const partner = await createPartner(t.http);
    const res = await t.http.post('/v1/webhook-endpoints').set(bearer(partner.apiKey)).send(body).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual(expect.arrayContaining([{ field: 'url', message }]));
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM webhook_endpoints WHERE partner_id = $1`,
      [partner.id],
    );
    expect(n).toBe(0);
  });

  describe('rotating an endpoint secret', () => {
    const rotate = (apiKey: string, id: string, body: Record<string, unknown> = {}, key?: string) => {
      const req = t.http.post(`/v1/webhook-endpoints/${id}/rotate-secret`).set(bearer(apiKey));
      return (key ? req.set('Idempotency-Key', key) : req).send(body);
    };

    /** The next invoice.issued the endpoint at `path` receives for a new payout of the partner. */
    async function nextDelivery(connection: Connection, freelancerRef: string, path: string) {
      const seen = receiver.at(path).length;
      await announce(connection, freelancerRef, '300.00');
      return waitFor(
        async () =>
          receiver
            .at(path)
            .slice(seen)
            .find((r) => JSON.parse(r.body).type === 'invoice.issued'),
        { what: `invoice.issued at ${path}` },
      );
    }
    const verifies = (secret: string, receipt: Receipt) => {
      try {
        new Webhook(secret).verify(receipt.body, {
          'webhook-id': String(receipt.headers['webhook-id']),
          'webhook-timestamp': String(receipt.headers['webhook-timestamp']),
          'webhook-signature': String(receipt.headers['webhook-signature']),
        });
        return true;
      } catch {
        return false;
      }
    };

    it('signs deliveries with the old and the new secret until the old one ends, then with the new one only', async () => {
      const partner = await createPartner(t.http);
      const path = `/ok/${unique('rotated')}`;
      const endpoint = await register(partner.apiKey, receiver.url(path));
      const connection = await createConnection(t.http, partner.apiKey, 'upwork');
      const freelancer = await createFreelancer(t.http, partner.apiKey);

      const rotated = await rotate(partner.apiKey, endpoint.id).expect(200);
      expect(rotated.body).toEqual({
        id: endpoint.id,
        url: endpoint.url,
        events: endpoint.events,
        createdAt: endpoint.createdAt,
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
        previousSecretExpiresAt: expect.any(String),
      });
      expect(rotated.body.secret).not.toBe(endpoint.secret);
      const list = await t.http.get('/v1/webhook-endpoints').set(bearer(partner.apiKey)).expect(200);
      expect(list.body.data[0].previousSecretExpiresAt).toBe(rotated.body.previousSecretExpiresAt);

      const during = await nextDelivery(connection, freelancer.externalRef, path);
      expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verifies(endpoint.secret, during)).toBe(true);
      expect(verifies(rotated.body.secret, during)).toBe(true);

      // Rotated once more before the receiver moved over: all three secrets sign.
      const third = await rotate(partner.apiKey, endpoint.id).expect(200);
      const overlapping = await nextDelivery(connection, freelancer.externalRef, path);
      expect(String(overlapping.headers['webhook-signature']).split(' ')).toHaveLength(3);
      for (const secret of [endpoint.secret, rotated.body.secret, third.body.secret]) {
        expect(verifies(secret, overlapping)).toBe(true);
      }

      // Rotated again, ending every replaced secret at once: only the newest signs.
      const again = await rotate(partner.apiKey, endpoint.id, { previousSecretValidForSeconds: 0 }).expect(
        200,
      );
      const after = await nextDelivery(connection, freelancer.externalRef, path);
      expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verifies(again.body.secret, after)).toBe(true);
      for (const secret of [endpoint.secret, rotated.body.secret, third.body.secret]) {
        expect(verifies(secret, after)).toBe(false);
      }
    });

    it('answers a repeat under the same Idempotency-Key with the same secret, rotating once', async () => {
      const partner = await createPartner(t.http);
      const endpoint = await register(partner.apiKey, receiver.url(`/ok/${unique('rotate-idem')}`));
      const key = unique('idem');
      const first = await rotate(partner.apiKey, endpoint.id, {}, key).expect(200);
      const again = await rotate(partner.apiKey, endpoint.id, {}, key).expect(200);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM webhook_endpoint_rotations WHERE endpoint_id = $1`,
        [endpoint.id],
      );
      expect(n).toBe(1);
      expectProblem(
        await rotate(partner.apiKey, endpoint.id, { previousSecretValidForSeconds: 5 }, key),
        422,
      );
    });

    it('answers a repeated registration with the secret it first answered, even after a rotation', async () => {
      const partner = await createPartner(t.http);
      const key = unique('idem');
      const url = receiver.url(`/ok/${unique('rotate-replay')}`);
      const first = await register(partner.apiKey, url, key);
      await rotate(partner.apiKey, first.id).expect(200);
      expect(await register(partner.apiKey, url, key)).toEqual(first);
    });

    it('answers 404 for another partner’s endpoint or a deleted one', async () => {
      const partner = await createPartner(t.http);
      const stranger = await createPartner(t.http);
      const endpoint = await register(partner.apiKey, receiver.url(`/ok/${unique('rotate-404')}`));
      expectProblem(await rotate(stranger.apiKey, endpoint.id), 404);
      await t.http.delete(`/v1/webhook-endpoints/${endpoint.id}`).set(bearer(partner.apiKey)).expect(204);
      expectProblem(await rotate(partner.apiKey, endpoint.id), 404);
    });
  });

  it('delivers payout.failed and the invoice turning proceeds_failed when every route fails', async () => {
    const partner = await createPartner(t.http);
    const path = `/ok/${unique('p')}`;
    const endpoint = await register(partner.apiKey, receiver.url(path));
    const connection = await createConnection(t.http, partner.apiKey, 'upwork');
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    for (const provider of ['payoneer', 'upwork']) {
      await t.http
        .put(`/v1/ops/sandbox/providers/${provider}`)
        .set(ops)
        .send({ permanentFailureRate: 1 })
        .expect(200);
    }
    try {
      const payoutId = await announce(connection, freelancer.externalRef, '300.00');
      const bodies = await waitFor(
        async () => {
          const types = receiver.at(path).map((r) => JSON.parse(r.body).type as string);
          return types.includes('payout.failed') && types.includes('invoice.export_status_changed')
            ? receiver.verifiedAt(path, endpoint.secret)
            : null;
        },
        { what: 'payout.failed and the invoice change', timeoutMs: 30_000 },
      );
      expect(bodies.find((b) => b.type === 'payout.failed')?.data).toEqual(
        expect.objectContaining({
          payoutId,
          status: 'failed',
          gross: '300.00',
          failureReason: expect.stringContaining('every eligible route failed'),
        }),
      );
      expect(bodies.filter((b) => b.type === 'payout.settled')).toEqual([]);
      expect(bodies.find((b) => b.type === 'invoice.export_status_changed')?.data).toEqual(
        expect.objectContaining({
          payoutId,
          exportStatus: 'proceeds_failed',
          previousStatus: 'awaiting_proceeds',
        }),
      );
    } finally {
      for (const provider of ['payoneer', 'upwork']) {
        await t.http
          .put(`/v1/ops/sandbox/providers/${provider}`)
          .set(ops)
          .send({ permanentFailureRate: 0 })
          .expect(200);
      }
    }
  });

  it('delivers payout.unmatched to an endpoint that asks for it, with the freelancerRef to register', async () => {
    const partner = await createPartner(t.http);
    const [asking, plain] = [`/ok/${unique('asking')}`, `/ok/${unique('plain')}`];
    const res = await t.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: receiver.url(asking), events: ['payout.unmatched', 'payout.settled'] })
      .expect(201);
    expect(res.body.events).toEqual(['payout.settled', 'payout.unmatched']);
    const defaults = await register(partner.apiKey, receiver.url(plain));
    // The contract's events and payout.returned, as every endpoint received before events could be named.
    expect(defaults.events).toEqual([
      'payout.settled',
      'payout.failed',
      'payout.returned',
      'invoice.issued',
      'invoice.export_status_changed',
    ]);
    const connection = await createConnection(t.http, partner.apiKey, 'upwork');
    const ref = unique('fl-unregistered');
    const payoutId = await announce(connection, ref, '410.00');
    const verified = (path: string, secret: string, type: string) =>
      waitFor(async () => receiver.verifiedAt(path, secret).find((b) => b.type === type), {
        what: `${type} at ${path}`,
        timeoutMs: 30_000,
      });
    expect((await verified(asking, res.body.secret, 'payout.unmatched')).data).toEqual(
      expect.objectContaining({
        payoutId,
        status: 'unmatched',
        freelancerRef: ref,
        freelancerId: null,
        gross: '410.00',
      }),
    );

    await createFreelancer(t.http, partner.apiKey, { externalRef: ref });
    await t.http.post(`/v1/ops/payouts/${payoutId}/retry`).set(ops).expect(200);
    expect((await verified(asking, res.body.secret, 'payout.settled')).data).toEqual(
      expect.objectContaining({
        payoutId,
        status: 'settled',
        freelancerRef: ref,
        freelancerId: expect.any(String),
      }),
    );
    await verified(plain, defaults.secret, 'payout.settled');
    // Both endpoints' deliveries are made by the time payout.settled arrived at the plain one (one fan-out pass
    // makes every delivery of an event); each got only the types it receives.
    await verified(plain, defaults.secret, 'invoice.export_status_changed');
    expect(
      receiver
        .verifiedAt(asking, res.body.secret)
        .map((b) => b.type)
        .sort(),
    ).toEqual(['payout.settled', 'payout.unmatched']);
    expect(receiver.verifiedAt(plain, defaults.secret).map((b) => b.type)).not.toContain('payout.unmatched');
  });

  it('replays a registration with events for the same key, in any order, and refuses other events', async () => {
    const partner = await createPartner(t.http);
    const post = (events: string[]) =>
      t.http
        .post('/v1/webhook-endpoints')
        .set(bearer(partner.apiKey))
        .set('Idempotency-Key', 'register-with-events')
        .send({ url: receiver.url('/ok/events-key'), events });
    const first = await post(['payout.unmatched', 'payout.failed']).expect(201);
    const again = await post(['payout.failed', 'payout.unmatched']).expect(201);
    expect(again.body).toEqual(first.body);
    expectProblem(await post(['payout.failed']), 422);
    const listed = await t.http.get('/v1/webhook-endpoints').set(bearer(partner.apiKey)).expect(200);
    expect(listed.body.data.map((e: { events: string[] }) => e.events)).toEqual([
      ['payout.failed', 'payout.unmatched'],
    ]);
  });

  it.each([
    ['none', []],
    ['an unknown type', ['payout.cancelled']],
    ['the same type twice', ['payout.settled', 'payout.settled']],
    ['a text', 'payout.settled'],
  ])('refuses events naming %s with 400 naming events, and registers nothing', async (_, events) => {
    const partner = await createPartner(t.http);
    const res = await t.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: receiver.url('/ok/bad-events'), events });
    expectProblem(res, 400);
    expect(new Set(res.body.errors.map((e: { field: string }) => e.field))).toEqual(new Set(['events']));
    const listed = await t.http.get('/v1/webhook-endpoints').set(bearer(partner.apiKey)).expect(200);
    expect(listed.body.data).toEqual([]);
  });

  it('logs an attempt cut off with its worker as such when the delivery is sent again', async () => {
    const partner = await createPartner(t.http);
    const endpoint = await register(partner.apiKey, receiver.url(`/ok/${unique('cut')}`));
    // As a worker killed mid-send leaves it: attempt 1 claimed, its window over, no outcome recorded.
    const delivery = await cutOffDelivery(t, partner.id, endpoint.id, 1);
    expect(await t.app.get(WebhookDeliveryService).attempt(delivery.id, 1)).toBe('delivered');
    const history = await t.http
      .get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`)
      .set(bearer(partner.apiKey))
      .expect(200);
    expect(history.body.data[0].attemptLog).toEqual([
      expect.objectContaining({ attempt: 1, statusCode: null, error: expect.stringContaining('cut off') }),
      expect.objectContaining({ attempt: 2, statusCode: 200, error: null }),
    ]);
  });

  it('answers 404 for another partner’s endpoint and 204 when the owner deletes it', async () => {
    const owner = await createPartner(t.http);
    const stranger = await createPartner(t.http);
    const endpoint = await register(owner.apiKey, receiver.url('/delete'));
    await t.http.delete(`/v1/webhook-endpoints/${endpoint.id}`).set(bearer(stranger.apiKey)).expect(404);
    await t.http
      .get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`)
      .set(bearer(stranger.apiKey))
      .expect(404);
    await t.http.delete(`/v1/webhook-endpoints/not-a-uuid`).set(bearer(owner.apiKey)).expect(404);
    await t.http.delete(`/v1/webhook-endpoints/${endpoint.id}`).set(bearer(owner.apiKey)).expect(204);
    await t.http.delete(`/v1/webhook-endpoints/${endpoint.id}`).set(bearer(owner.apiKey)).expect(404);
    const list = await t.http.get('/v1/webhook-endpoints').set(bearer(owner.apiKey)).expect(200);
    expect(list.body.data).toEqual([]);
  });

  it('delivers payout.settled, invoice.issued and invoice.export_status_changed, signed, retried after a 500, once each', async () => {
    const partner = await createPartner(t.http);
    const other = await createPartner(t.http);
    const path = `/flaky/${unique('p')}`;
    const otherPath = `/other/${unique('p')}`;
    const deletedPath = `/deleted/${unique('p')}`;
    const endpoint = await register(partner.apiKey, receiver.url(path));
    const removed = await register(partner.apiKey, receiver.url(deletedPath));
    await t.http.delete(`/v1/webhook-endpoints/${removed.id}`).set(bearer(partner.apiKey)).expect(204);
    await register(other.apiKey, receiver.url(otherPath));

    const connection = await createConnection(t.http, partner.apiKey, 'upwork');
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const payoutId = await announce(connection, freelancer.externalRef, '1250.00');

    const wanted = ['payout.settled', 'invoice.issued', 'invoice.export_status_changed'];
    const delivered = await waitFor(
      async () => {
        const ok = receiver.at(path).filter((r) => r.answered === 200);
        const types = ok.map((r) => JSON.parse(r.body).type as string);
        return wanted.every((type) => types.includes(type)) ? ok : null;
      },
      { what: 'the three events, retried until accepted', timeoutMs: 30_000 },
    );

    const wh = new Webhook(endpoint.secret);
    const bodies = delivered.map((r) => {
      const headers = {
        'webhook-id': String(r.headers['webhook-id']),
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      };
      const verified = wh.verify(r.body, headers) as {
        id: string;
        type: string;
        data: Record<string, unknown>;
      };
      expect(verified.id).toBe(headers['webhook-id']);
      expect(r.headers['content-type']).toBe('application/json');
      return verified;
    });

    const settled = bodies.find((b) => b.type === 'payout.settled')!;
    expect(settled).toEqual({
      type: 'payout.settled',
      id: expect.any(String),
      createdAt: expect.any(String),
      data: expect.objectContaining({
        payoutId,
        platform: 'upwork',
        freelancerId: freelancer.id,
        gross: '1250.00',
        currency: 'USD',
        status: 'settled',
        net: '1210.50',
        fees: { fixed: '2.00', percent: '37.50', fx: '0.00', intermediary: '0.00', total: '39.50' },
        failureReason: null,
      }),
    });
    const issued = bodies.find((b) => b.type === 'invoice.issued')!;
    expect(issued.data).toEqual({
      invoiceId: expect.any(String),
      number: expect.any(String),
      payoutId,
      exportStatus: 'awaiting_proceeds',
      previousStatus: null,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const changed = bodies.find((b) => b.type === 'invoice.export_status_changed')!;
    expect(changed.data).toEqual(
      expect.objectContaining({
        invoiceId: issued.data.invoiceId,
        payoutId,
        exportStatus: 'proceeds_realized',
        previousStatus: 'awaiting_proceeds',
      }),
    );

    // Each message: one 500, then one accepted retry with the same webhook-id; never accepted twice.
    for (const id of new Set(receiver.at(path).map((r) => String(r.headers['webhook-id'])))) {
      const tries = receiver.at(path).filter((r) => r.headers['webhook-id'] === id);
      expect(tries.map((r) => r.answered)).toEqual([500, 200]);
      expect(tries[0].body).toBe(tries[1].body);
    }

    // Another pass finds nothing new to deliver.
    await t.app.get(PartnerEventsDispatcher).pass();
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1`,
      [endpoint.id],
    );
    expect(n).toBe(wanted.length);
    expect(receiver.at(path)).toHaveLength(2 * n);

    const history = await waitFor(async () => {
      const res = await t.http
        .get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`)
        .set(bearer(partner.apiKey))
        .expect(200);
      const data = res.body.data as { status: string }[];
      return data.length === n && data.every((d) => d.status === 'delivered') ? res.body : null;
    });
    expect(history.data).toHaveLength(n);
    for (const d of history.data) {
      expect(d.attempts).toBe(2);
      expect(d.attemptLog).toEqual([
        expect.objectContaining({ attempt: 1, statusCode: 500, error: 'answered HTTP 500' }),
        expect.objectContaining({ attempt: 2, statusCode: 200, error: null }),
      ]);
    }

    expect(receiver.at(otherPath)).toEqual([]);
    expect(receiver.at(deletedPath)).toEqual([]);
  });
});

describe('partner webhooks: giving up after the last attempt (e2e, short retry window)', () => {
  let t: TestApp;
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startApp(
      {
        PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS: '100',
        PARTNER_WEBHOOK_RETRY_BASE_MS: '100',
        PARTNER_WEBHOOK_RETRY_WINDOW_MS: '300',
      },
      { role: 'all' },
    );
  });

  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  /** A partner with one endpoint at `path`. */
  async function endpointAt(path: string) {
    const partner = await createPartner(t.http);
    const endpoint = await t.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: receiver.url(path) })
      .expect(201);
    return { partner, endpoint: endpoint.body as { id: string; secret: string } };
  }

  /** A partner with one endpoint at `path`, and one event of the partner's to deliver to it. */
  async function endpointWithEvent(path: string) {
    const { partner, endpoint } = await endpointAt(path);
    return { partner, endpoint, eventId: await addEvent(partner.id) };
  }

  /** A new event of the partner's, as the pipeline would record one; answers its id. */
  async function addEvent(partnerId: string): Promise<string> {
    const [event] = await t.db.query(
      `INSERT INTO partner_events (partner_id, type, source, source_id, payload)
       VALUES ($1, 'payout.failed', 'payout_timeline', -floor(random() * 1e12)::bigint, '{"payoutId":"x"}')
       RETURNING id`,
      [partnerId],
    );
    return event.id;
  }

  it('marks a delivery failed after every attempt of the schedule was refused', async () => {
    // Delays 100 ms then 200 ms cover the 300 ms window: three attempts in all.
    const { partner, endpoint, eventId } = await endpointWithEvent(`/refuse/${unique('p')}`);
    const delivery = await waitFor(
      async () => {
        const [row] = await t.db.query(
          `SELECT status, attempts, last_error FROM webhook_deliveries WHERE event_id = $1`,
          [eventId],
        );
        return row?.status === 'failed' ? row : null;
      },
      { what: 'the delivery to fail for good' },
    );
    expect(delivery).toEqual({ status: 'failed', attempts: 3, last_error: 'answered HTTP 500' });
    const refused = receiver.receipts.filter((r) => r.path.startsWith('/refuse'));
    expect(refused).toHaveLength(3);
    expect(new Set(refused.map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]));
    const history = await t.http
      .get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`)
      .set(bearer(partner.apiKey))
      .expect(200);
    expect(history.body.data[0]).toEqual(
      expect.objectContaining({ status: 'failed', attempts: 3, nextAttemptAt: null }),
    );
    expect(history.body.data[0].attemptLog.map((a: { statusCode: number }) => a.statusCode)).toEqual([
      500, 500, 500,
    ]);
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^partner_webhook_attempts_total\{outcome="retry"\} 2$/m);
    expect(metrics.text).toMatch(/^partner_webhook_attempts_total\{outcome="failed"\} 1$/m);
  });

  it('records a secret that does not open as each attempt’s outcome, and gives up after the last one', async () => {
    const path = `/sealed/${unique('p')}`;
    const { endpoint, eventId } = await endpointWithEvent(path);
    // A replaced secret still in its overlap, stored in a form no key of this process opens (as one sealed under a
    // key dropped from SECRETS_KEYS_DECRYPT_ONLY before every value was sealed again).
    await t.db.query(`UPDATE webhook_endpoints SET previous_secrets = $2::jsonb WHERE id = $1`, [
      endpoint.id,
      JSON.stringify([
        {
          sealed: Buffer.alloc(64, 0xff).toString('base64'),
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        },
      ]),
    ]);
    const delivery = await waitFor(
      async () => {
        const [row] = await t.db.query(
          `SELECT id, status, attempts, last_error FROM webhook_deliveries WHERE event_id = $1`,
          [eventId],
        );
        return row?.status === 'failed' ? row : null;
      },
      { what: 'the delivery to fail for good' },
    );
    expect(delivery).toEqual(
      expect.objectContaining({
        attempts: 3,
        last_error: expect.stringMatching(/^not sent: a signing secret of the endpoint does not open: /),
      }),
    );
    const log = await t.db.query(
      `SELECT attempt, status_code, error FROM webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY attempt`,
      [delivery.id],
    );
    expect(
      log.map((a: { attempt: number; status_code: number | null }) => [a.attempt, a.status_code]),
    ).toEqual([
      [1, null],
      [2, null],
      [3, null],
    ]);
    expect(log.every((a: { error: string }) => a.error.startsWith('not sent: '))).toBe(true);
    expect(receiver.receipts.filter((r) => r.path === path)).toEqual([]);
  });

  it('fails a delivery whose last attempt was cut off with its worker, instead of claiming it past its limit', async () => {
    const path = `/cut-off/${unique('p')}`;
    const { partner, endpoint } = await endpointAt(path);
    // A delivery on its third and last attempt (the schedule here gives three), whose worker died mid-call.
    const delivery = await cutOffDelivery(t, partner.id, endpoint.id, 3);

    expect(await t.app.get(WebhookDeliveryService).attempt(delivery.id, 3)).toBe('failed');
    const [row] = await t.db.query(
      `SELECT status, attempts, last_error FROM webhook_deliveries WHERE id = $1`,
      [delivery.id],
    );
    expect(row).toEqual({
      status: 'failed',
      attempts: 3,
      last_error: 'no outcome recorded: the last attempt was cut off when its worker stopped',
    });
    const log = await t.db.query(
      `SELECT attempt, error FROM webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY attempt`,
      [delivery.id],
    );
    expect(log).toEqual([{ attempt: 3, error: row.last_error }]);
    expect(receiver.receipts.filter((r) => r.path === path)).toEqual([]);
  });

  it('fails a delivery the retry schedule, shortened since its last attempt, gives no attempt more', async () => {
    const path = `/shortened/${unique('p')}`;
    const { partner, endpoint } = await endpointAt(path);
    // Refused three times under a longer schedule; the one now in force gives three attempts in all.
    const delivery = await cutOffDelivery(t, partner.id, endpoint.id, 3);
    await t.db.query(
      `UPDATE webhook_deliveries SET in_flight_until = NULL, last_status_code = 500, last_error = 'answered HTTP 500'
       WHERE id = $1`,
      [delivery.id],
    );
    expect(await t.app.get(WebhookDeliveryService).attempt(delivery.id, 3)).toBe('failed');
    const [row] = await t.db.query(
      `SELECT status, attempts, last_status_code, last_error FROM webhook_deliveries WHERE id = $1`,
      [delivery.id],
    );
    expect(row).toEqual({
      status: 'failed',
      attempts: 3,
      last_status_code: 500,
      last_error: 'answered HTTP 500',
    });
    expect(receiver.receipts.filter((r) => r.path === path)).toEqual([]);
  });

  describe('redelivery on request', () => {
    const deliveryOf = async (eventId: string, status: string) =>
      waitFor(
        async () => {
          const [row] = await t.db.query(
            `SELECT id, status, attempts FROM webhook_deliveries WHERE event_id = $1`,
            [eventId],
          );
          return row?.status === status ? row : null;
        },
        { what: `the delivery of ${eventId} to be ${status}` },
      );
    const redeliver = (apiKey: string, endpointId: string, deliveryId: string, key?: string) => {
      const req = t.http
        .post(`/v1/webhook-endpoints/${endpointId}/deliveries/${deliveryId}/redeliver`)
        .set(bearer(apiKey));
      return key ? req.set('Idempotency-Key', key) : req;
    };

    it('sends a delivery that failed for good once more when asked, after its endpoint is back', async () => {
      const path = `/back/${unique('p')}`;
      receiver.refusing.add(path);
      const { partner, endpoint, eventId } = await endpointWithEvent(path);
      const failed = await deliveryOf(eventId, 'failed');
      expect(failed.attempts).toBe(3);

      receiver.refusing.delete(path);
      const res = await redeliver(partner.apiKey, endpoint.id, failed.id).expect(202);
      expect(res.body).toEqual(expect.objectContaining({ id: failed.id, status: 'pending', attempts: 3 }));
      const delivered = await deliveryOf(eventId, 'delivered');
      expect(delivered.attempts).toBe(4);
      const receipts = receiver.at(path);
      expect(receipts.map((r) => r.answered)).toEqual([500, 500, 500, 200]);
      const last = receipts[3];
      expect(
        new Webhook(endpoint.secret).verify(last.body, {
          'webhook-id': String(last.headers['webhook-id']),
          'webhook-timestamp': String(last.headers['webhook-timestamp']),
          'webhook-signature': String(last.headers['webhook-signature']),
        }),
      ).toEqual(expect.objectContaining({ id: eventId }));
    });

    it('gives a redelivery one attempt, not a new round of retries', async () => {
      const path = `/again/${unique('p')}`;
      const { partner, endpoint, eventId } = await endpointWithEvent(path);
      const delivered = await deliveryOf(eventId, 'delivered');
      receiver.refusing.add(path);
      await redeliver(partner.apiKey, endpoint.id, delivered.id).expect(202);
      const failed = await deliveryOf(eventId, 'failed');
      expect(failed.attempts).toBe(2);
      expect(receiver.at(path).map((r) => r.answered)).toEqual([200, 500]);
      // The partner did receive it once: that stays on record beside the failed resend.
      const list = await t.http
        .get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(list.body.data[0]).toEqual(
        expect.objectContaining({ status: 'failed', deliveredAt: expect.any(String), attempts: 2 }),
      );
    });

    it('answers the same to a repeat under one Idempotency-Key, redelivering once', async () => {
      const path = `/twice/${unique('p')}`;
      const { partner, endpoint, eventId } = await endpointWithEvent(path);
      const delivered = await deliveryOf(eventId, 'delivered');
      const key = unique('idem');
      const first = await redeliver(partner.apiKey, endpoint.id, delivered.id, key).expect(202);
      expect(first.body).toEqual(expect.objectContaining({ status: 'pending', attempts: 1 }));
      expect((await deliveryOf(eventId, 'delivered')).attempts).toBe(2);
      // Asked again once that redelivery is over: the first answer comes back, and nothing is sent.
      const again = await redeliver(partner.apiKey, endpoint.id, delivered.id, key).expect(202);
      expect(again.body).toEqual(first.body);
      expect(receiver.at(path)).toHaveLength(2);
    });

    it('answers 404 for another partner, an unknown delivery, or a deleted endpoint, and changes nothing', async () => {
      const path = `/hidden/${unique('p')}`;
      const { partner, endpoint, eventId } = await endpointWithEvent(path);
      const delivered = await deliveryOf(eventId, 'delivered');
      const stranger = await createPartner(t.http);
      expectProblem(await redeliver(stranger.apiKey, endpoint.id, delivered.id), 404);
      expectProblem(
        await redeliver(partner.apiKey, endpoint.id, '00000000-0000-4000-8000-000000000000'),
        404,
      );
      await t.http.delete(`/v1/webhook-endpoints/${endpoint.id}`).set(bearer(partner.apiKey)).expect(204);
      expectProblem(await redeliver(partner.apiKey, endpoint.id, delivered.id), 404);
      const [row] = await t.db.query(`SELECT status, attempt_limit FROM webhook_deliveries WHERE id = $1`, [
        delivered.id,
      ]);
      expect(row).toEqual({ status: 'delivered', attempt_limit: null });
    });

    it('recovers the failed deliveries made since an instant, once the endpoint is back, and lists them by status', async () => {
      const path = `/outage/${unique('p')}`;
      receiver.refusing.add(path);
      const { partner, endpoint, eventId: early } = await endpointWithEvent(path);
      await deliveryOf(early, 'failed');
      const late = await addEvent(partner.id);
      const lateDelivery = await deliveryOf(late, 'failed');
      const [{ created_at: since }] = await t.db.query(
        `SELECT created_at FROM webhook_deliveries WHERE id = $1`,
        [lateDelivery.id],
      );
      const failed = await t.http
        .get(`/v1/webhook-endpoints/${endpoint.id}/deliveries?status=failed`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(failed.body.data.map((d: { eventId: string }) => d.eventId).sort()).toEqual(
        [early, late].sort(),
      );

      receiver.refusing.delete(path);
      const recover = (from: Date) =>
        t.http
          .post(`/v1/webhook-endpoints/${endpoint.id}/recover`)
          .set(bearer(partner.apiKey))
          .send({ since: from.toISOString() });
      expect((await recover(since).expect(202)).body).toEqual({ redelivering: 1 });
      expect((await deliveryOf(late, 'delivered')).attempts).toBe(4);
      const [stillFailed] = await t.db.query(`SELECT status FROM webhook_deliveries WHERE event_id = $1`, [
        early,
      ]);
      expect(stillFailed.status).toBe('failed');
      // An hour earlier, written with Pakistan's offset.
      const earlier = new Date(since.getTime() - 3_600_000 + 5 * 3_600_000)
        .toISOString()
        .replace('Z', '+05:00');
      const again = await t.http
        .post(`/v1/webhook-endpoints/${endpoint.id}/recover`)
        .set(bearer(partner.apiKey))
        .send({ since: earlier })
        .expect(202);
      expect(again.body).toEqual({ redelivering: 1 });
      await deliveryOf(early, 'delivered');
    });

    it.each([
      ['yesterday'],
      ['2026-02-30T00:00:00Z'],
      ['2026-11-29T24:00:00Z'],
      ['2026-11-29'],
      ['2026-11-29T00:00:00+14:30'],
      [undefined],
    ])('refuses to recover since %p with 400 naming since', async (since) => {
      const { partner, endpoint } = await endpointWithEvent(`/bad-since/${unique('p')}`);
      const res = await t.http
        .post(`/v1/webhook-endpoints/${endpoint.id}/recover`)
        .set(bearer(partner.apiKey))
        .send(since === undefined ? {} : { since });
      expectProblem(res, 400);
      expect(new Set(res.body.errors.map((e: { field: string }) => e.field))).toEqual(new Set(['since']));
    });

    it('answers 404 to a recovery of another partner’s endpoint, and 400 to a status that is none', async () => {
      const { partner, endpoint } = await endpointWithEvent(`/foreign/${unique('p')}`);
      const stranger = await createPartner(t.http);
      expectProblem(
        await t.http
          .post(`/v1/webhook-endpoints/${endpoint.id}/recover`)
          .set(bearer(stranger.apiKey))
          .send({ since: new Date().toISOString() }),
        404,
      );
      const res = await t.http
        .get(`/v1/webhook-endpoints/${endpoint.id}/deliveries?status=lost`)
        .set(bearer(partner.apiKey));
      expectProblem(res, 400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['status']);
    });
  });
});

describe('partner webhooks: hanging endpoints (e2e)', () => {
  let t: TestApp;
  let server: Server;
  const held: Array<() => void> = [];
  const arrived: string[] = [];

  beforeAll(async () => {
    // `/hang/…` answers only when the test lets it; anything else at once.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = req.url ?? '/';
        arrived.push(path);
        if (path.startsWith('/hang')) held.push(() => res.writeHead(200).end());
        else res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t = await startApp(
      {
        PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS: '100',
        PARTNER_WEBHOOK_TIMEOUT_MS: '20000',
        PARTNER_WEBHOOK_MAX_IN_FLIGHT: '2',
        PARTNER_WEBHOOK_MAX_IN_FLIGHT_PER_PARTNER: '3',
        PARTNER_WEBHOOK_CONCURRENCY: '4',
      },
      { role: 'all' },
    );
  });

  afterAll(async () => {
    held.splice(0).forEach((answer) => answer());
    await t.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const url = (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

  async function endpoint(partner: { apiKey: string }, path: string): Promise<void> {
    await t.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: url(path) })
      .expect(201);
  }

  async function events(partnerId: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await t.db.query(
        `INSERT INTO partner_events (partner_id, type, source, source_id, payload)
         VALUES ($1, 'payout.settled', 'payout_timeline', -floor(random() * 1e12)::bigint, '{"payoutId":"x"}')`,
        [partnerId],
      );
    }
  }

  /** Lets every held request answer, and those that arrive meanwhile, until the partner's deliveries are all done. */
  async function answerAll(partnerId: string, deliveries: number): Promise<void> {
    held.splice(0).forEach((answer) => answer());
    await waitFor(
      async () => {
        const [row] = await t.db.query(
          `SELECT count(*)::int AS n FROM webhook_deliveries WHERE partner_id = $1 AND status = 'delivered'`,
          [partnerId],
        );
        if (row.n < deliveries) held.splice(0).forEach((answer) => answer());
        return row.n === deliveries;
      },
      { what: `all ${deliveries} deliveries once the hanging endpoints answer`, timeoutMs: 30_000 },
    );
  }

  it('holds at most its slots, so another partner’s webhooks arrive while it hangs', async () => {
    const slow = await createPartner(t.http);
    const prompt = await createPartner(t.http);
    const slowPath = `/hang/${unique('p')}`;
    const promptPath = `/ok/${unique('p')}`;
    await endpoint(slow, slowPath);
    await endpoint(prompt, promptPath);
    await events(slow.id, 6);
    await waitFor(async () => arrived.filter((p) => p === slowPath).length >= 2, {
      what: 'the hanging endpoint to hold its two slots',
    });
    await events(prompt.id, 1);

    await waitFor(async () => arrived.includes(promptPath), { what: 'the other partner’s webhook' });
    // Four workers, six deliveries due: without the cap the hanging endpoint would hold all four.
    expect(arrived.filter((p) => p === slowPath)).toHaveLength(2);

    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
       WHERE w.partner_id = $1 AND d.status = 'pending' AND d.attempts = 0`,
      [slow.id],
    );
    expect(n).toBe(4);
    // Each wait marks its delivery queued again, so the dispatcher never takes one waiting its turn for lost and
    // starts a second chain of waits beside it.
    const marks = async () => {
      const [row] = await t.db.query(
        `SELECT min(enqueued_at) AS earliest, max(enqueued_at) AS latest FROM webhook_deliveries
         WHERE partner_id = $1 AND status = 'pending' AND attempts = 0`,
        [slow.id],
      );
      return row as { earliest: Date; latest: Date };
    };
    const before = await marks();
    await waitFor(async () => (await marks()).earliest > before.latest, {
      what: 'every waiting delivery marked queued again',
    });
    await answerAll(slow.id, 6);
    expect(arrived.filter((p) => p === slowPath)).toHaveLength(6);
  });

  it('holds at most its partner’s slots however many of its endpoints hang', async () => {
    const slow = await createPartner(t.http);
    const prompt = await createPartner(t.http);
    const slowPaths = [`/hang/${unique('a')}`, `/hang/${unique('b')}`];
    const promptPath = `/ok/${unique('p')}`;
    for (const path of slowPaths) await endpoint(slow, path);
    await endpoint(prompt, promptPath);
    const slowArrived = () => arrived.filter((p) => slowPaths.includes(p)).length;
    await events(slow.id, 4);
    await waitFor(async () => slowArrived() >= 3, { what: 'the hanging endpoints to hold three slots' });
    await events(prompt.id, 1);

    await waitFor(async () => arrived.includes(promptPath), { what: 'the other partner’s webhook' });
    // Two slots per endpoint would let the two endpoints hold all four workers; the partner's cap is three.
    expect(slowArrived()).toBe(3);
    await answerAll(slow.id, 8);
  });
});

describe('partner webhooks: an endpoint deleted while events fan out (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // The dispatcher runs only when the test calls it, so the test orders it against the deletion.
    t = await startApp({ PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS: '3600000' }, { role: 'all' });
  });

  afterAll(async () => {
    await t.close();
  });

  async function addEvent(partnerId: string, fannedOut: boolean): Promise<string> {
    const [event] = await t.db.query(
      `INSERT INTO partner_events (partner_id, type, source, source_id, payload, fanned_out_at)
       VALUES ($1, 'payout.settled', 'payout_timeline', -floor(random() * 1e12)::bigint, '{"payoutId":"x"}',
               CASE WHEN $2 THEN now() END)
       RETURNING id`,
      [partnerId, fannedOut],
    );
    return event.id;
  }

  it('leaves no delivery of it pending when a fan-out runs while the deletion commits', async () => {
    const partner = await createPartner(t.http);
    const endpoint = await t.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: 'http://127.0.0.1:9/never-called' })
      .expect(201);
    const endpointId = endpoint.body.id as string;
    // A delivery of the endpoint still pending, which the deletion cancels: held here, it keeps the deletion's
    // transaction open after the endpoint is marked deleted and before it commits.
    const [pending] = await t.db.query(
      `INSERT INTO webhook_deliveries (event_id, endpoint_id, partner_id, enqueued_at)
       VALUES ($1, $2, $3, now()) RETURNING id`,
      [await addEvent(partner.id, true), endpointId, partner.id],
    );
    const fresh = await addEvent(partner.id, false);

    const held = t.db.createQueryRunner();
    await held.connect();
    await held.startTransaction();
    let fanOut: Promise<void> | undefined;
    try {
      await held.query(`SELECT 1 FROM webhook_deliveries WHERE id = $1 FOR UPDATE`, [pending.id]);
      const [{ pid }] = await held.query(`SELECT pg_backend_pid() AS pid`);
      const deletion = t.http
        .delete(`/v1/webhook-endpoints/${endpointId}`)
        .set(bearer(partner.apiKey))
        .then((res) => res.status);
      await waitFor(
        async () =>
          (await t.db.query(`SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]))
            .length > 0,
        { what: 'the deletion to wait for the held delivery' },
      );
      // The new event fans out while the deletion is under way (its endpoint row updated, not yet committed).
      fanOut = t.app.get(PartnerEventsDispatcher).fanOut();
      let fannedOut = false;
      void fanOut.then(() => (fannedOut = true));
      // It either ends at once, or waits for the deletion to commit.
      await waitFor(
        async () =>
          fannedOut ||
          (
            await t.db.query(
              `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO webhook_deliveries%'`,
            )
          ).length > 0,
        { what: 'the fan-out to end or to wait for the deletion' },
      );
      await held.commitTransaction();
      expect(await deletion).toBe(204);
      await fanOut;
    } finally {
      if (held.isTransactionActive) await held.rollbackTransaction();
      await held.release();
    }

    // A pending delivery of a deleted endpoint is never sent and never ends: the dispatcher would queue it again
    // every minute, for ever.
    const left = await t.db.query(
      `SELECT event_id, status FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`,
      [endpointId],
    );
    expect(left).toEqual([]);
    const [event] = await t.db.query(`SELECT fanned_out_at FROM partner_events WHERE id = $1`, [fresh]);
    expect(event.fanned_out_at).not.toBeNull();
  });
});

// A database of its own: a production app's key differs from the run's, so it must not meet other suites' secrets.
describe('partner webhooks: a receiver inside the operator network (e2e, NODE_ENV=production)', () => {
  const own = new OwnDatabase('trusted_hosts');
  const receiver = new Receiver();
  const production = {
    DATABASE_URL: own.url,
    QUEUE_PREFIX: `${process.env.QUEUE_PREFIX}:trusted-hosts`,
    NODE_ENV: 'production',
    PUBLIC_BASE_URL: 'https://pay.example.pk',
    SECRETS_KEY: randomBytes(32).toString('base64'),
    INVOICE_SIGNING_KEY_PEM: generateKeyPairSync('ed25519')
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString(),
    LOG_LEVEL: 'silent',
  };
  let guarded: TestApp;
  let trusting: TestApp;

  beforeAll(async () => {
    await own.create();
    await receiver.start();
    guarded = await startApp(production, { role: 'api' });
    trusting = await startApp(
      {
        ...production,
        WEBHOOK_TRUSTED_HOSTS: `receiver.internal, ${new URL(receiver.url('/')).host}`,
        PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS: '100',
      },
      { role: 'all' },
    );
  });

  afterAll(async () => {
    await guarded.close();
    await trusting.close();
    await receiver.close();
    await own.drop();
  });

  it('refuses a private http receiver unless WEBHOOK_TRUSTED_HOSTS names its host and port, delivers to it, and stops once it leaves', async () => {
    const partner = await createPartner(guarded.http);
    const path = `/internal/${unique('p')}`;
    const refused = await guarded.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: receiver.url(path) });
    expectProblem(refused, 400);
    expect(refused.body.errors).toEqual([{ field: 'url', message: 'url must use https://' }]);
    // Only the hosts named: another private address is refused as before, by the trusting app too.
    const other = await trusting.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: 'https://10.1.2.3/hook' });
    expect(other.body.errors).toEqual([
      { field: 'url', message: 'url must not point at a private, loopback or link-local address' },
    ]);
    // Only the ports named: another service on the trusted host is refused.
    const port = new URL(receiver.url('/')).port;
    const otherPort = await trusting.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: `http://127.0.0.1:${Number(port) === 6379 ? 6380 : 6379}/` });
    expect(otherPort.body.errors).toEqual([{ field: 'url', message: 'url must use https://' }]);

    const endpoint = await trusting.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: receiver.url(path) })
      .expect(201);
    /** An event of the partner's, as the pipeline would record one; answers its delivery once it was tried. */
    const deliveryOfNewEvent = async (sourceId: number) => {
      const [event] = await trusting.db.query(
        `INSERT INTO partner_events (partner_id, type, source, source_id, payload)
         VALUES ($1, 'payout.failed', 'payout_timeline', $2, '{"payoutId":"x"}') RETURNING id`,
        [partner.id, sourceId],
      );
      return waitFor(
        async () => {
          const [row] = await trusting.db.query(
            `SELECT status, last_error FROM webhook_deliveries WHERE event_id = $1`,
            [event.id],
          );
          return (row?.status !== 'pending' || row?.last_error) && row;
        },
        { what: `the delivery of event ${sourceId} to be tried` },
      );
    };
    expect(await deliveryOfNewEvent(1)).toEqual({ status: 'delivered', last_error: null });
    expect(receiver.verifiedAt(path, endpoint.body.secret)).toHaveLength(1);

    // The host leaves the list: the endpoint registered over http is no longer sent to, in clear or otherwise.
    await trusting.close();
    trusting = await startApp(
      { ...production, PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS: '100' },
      { role: 'all' },
    );
    expect(await deliveryOfNewEvent(2)).toEqual({
      status: 'pending',
      last_error: 'request failed: refused to send: plain http is sent only to WEBHOOK_TRUSTED_HOSTS',
    });
    expect(receiver.at(path)).toHaveLength(1);
  });

  it('resolves a trusted host as the system does (its hosts file), not by DNS queries of its own', async () => {
    // This machine names itself in its hosts file, as a container does: no name server knows the name.
    const name = hostname();
    expect((await lookup(name)).address).toBe('127.0.0.1');
    const port = new URL(receiver.url('/')).port;
    // The only worker of this database: the one that trusts the name.
    await trusting.close();
    trusting = await startApp(
      {
        ...production,
        WEBHOOK_TRUSTED_HOSTS: `${name}:${port}`,
        PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS: '100',
      },
      { role: 'all' },
    );
    const app = trusting;
    const partner = await createPartner(app.http);
    const path = `/internal/${unique('named')}`;
    const endpoint = await app.http
      .post('/v1/webhook-endpoints')
      .set(bearer(partner.apiKey))
      .send({ url: `http://${name}:${port}${path}` })
      .expect(201);
    const [event] = await app.db.query(
      `INSERT INTO partner_events (partner_id, type, source, source_id, payload)
       VALUES ($1, 'payout.failed', 'payout_timeline', 3, '{"payoutId":"x"}') RETURNING id`,
      [partner.id],
    );
    const delivery = await waitFor(
      async () => {
        const [row] = await app.db.query(
          `SELECT status, last_error FROM webhook_deliveries WHERE event_id = $1`,
          [event.id],
        );
        return (row?.status !== 'pending' || row?.last_error) && row;
      },
      { what: 'the delivery to the trusted host to be tried', timeoutMs: 30_000 },
    );
    expect(delivery).toEqual({ status: 'delivered', last_error: null });
    expect(receiver.verifiedAt(path, endpoint.body.secret)).toHaveLength(1);
  });
});

describe('partner webhooks: what counts as delivered, and the wait before the next attempt (e2e)', () => {
  let t: TestApp;
  let server: Server;
  const hits: string[] = [];

  beforeAll(async () => {
    // Redirects from /redirect/…, refuses everything else with 500.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = req.url ?? '/';
        hits.push(path);
        if (path.startsWith('/redirect')) res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
        else res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t = await startApp(
      { PARTNER_WEBHOOK_DISPATCH_INTERVAL_MS: '100', PARTNER_WEBHOOK_RETRY_BASE_MS: '3000' },
      { role: 'all' },
    );
  });

  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A partner whose one endpoint is `path` on the server, and an event of it; answers the event's delivery. */
  async function deliveryTo(path: string): Promise<{ id: string }> {
    const partner = await createPartner(t.http);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
    await t.http.post('/v1/webhook-endpoints').set(bearer(partner.apiKey)).send({ url }).expect(201);
    const [event] = await t.db.query(
      `INSERT INTO partner_events (partner_id, type, source, source_id, payload)
       SELECT $1, 'payout.failed', 'payout_timeline', least(min(source_id), 0) - 1, '{"payoutId":"x"}'
       FROM partner_events WHERE source = 'payout_timeline'
       RETURNING id`,
      [partner.id],
    );
    return waitFor(
      async () => {
        const [row] = await t.db.query(`SELECT id FROM webhook_deliveries WHERE event_id = $1`, [event.id]);
        return row ?? null;
      },
      { what: 'the fan-out of the event' },
    );
  }

  const firstAttempt = (id: string) =>
    waitFor(
      async () => {
        const [row] = await t.db.query(
          `SELECT status, attempts, last_status_code FROM webhook_deliveries WHERE id = $1`,
          [id],
        );
        return row.last_status_code !== null ? row : null;
      },
      { what: 'the first attempt' },
    );

  it('does not count a 3xx answer as delivered: it is tried again until a 2xx', async () => {
    const delivery = await deliveryTo(`/redirect/${unique('p')}`);
    expect(await firstAttempt(delivery.id)).toEqual({
      status: 'pending',
      attempts: 1,
      last_status_code: 302,
    });
  });

  it('queues the next attempt after the retry delay, not at once', async () => {
    const delivery = await deliveryTo(`/refuse/${unique('p')}`);
    expect(await firstAttempt(delivery.id)).toEqual({
      status: 'pending',
      attempts: 1,
      last_status_code: 500,
    });
    const queue = t.app.get<Queue>(getQueueToken(QUEUES.partnerWebhooks));
    const next = await queue.getJob(JobIds.partnerWebhook(delivery.id, 1));
    expect(next?.opts.delay).toBe(3000);
    expect(await next?.isDelayed()).toBe(true);
  });

  it('never queues again a delivery that is over (delivered long ago)', async () => {
    const delivery = await deliveryTo(`/redirect/${unique('p')}`);
    await firstAttempt(delivery.id);
    await t.db.query(
      `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now() - interval '2 hours',
              next_attempt_at = now() - interval '2 hours', enqueued_at = now() - interval '2 hours',
              in_flight_until = NULL
       WHERE id = $1`,
      [delivery.id],
    );
    await t.app.get(PartnerEventsDispatcher).enqueueDue();
    const [after] = await t.db.query(
      `SELECT enqueued_at < now() - interval '1 hour' AS untouched FROM webhook_deliveries WHERE id = $1`,
      [delivery.id],
    );
    expect(after.untouched).toBe(true);
  });
});
