import { randomUUID } from 'node:crypto';
import { PayoutBookings } from '../src/ledger/payout-bookings.service';
import { MoneyDecimal, roundCents } from '../src/money/money';
import { bearer, createFreelancer, createPartner, ops, startApp, TestApp, unique } from './support/app';

describe('ledger (e2e)', () => {
  let t: TestApp;
  let bookings: PayoutBookings;
  let partner: { id: string; apiKey: string };
  let stranger: { id: string; apiKey: string };

  beforeAll(async () => {
    t = await startApp();
    bookings = t.app.get(PayoutBookings);
    partner = await createPartner(t.http);
    stranger = await createPartner(t.http);
  });

  afterAll(async () => {
    await t.close();
  });

  /** A payout row as the pipeline would have it once routed; the ledger reads only its owner. */
  async function seedPayout(partnerId: string, freelancerId: string, gross: string): Promise<string> {
    const [connection] = await t.db.query(
      `INSERT INTO platform_connections (partner_id, platform, scheme, secret_ciphertext)
       VALUES ($1, 'upwork', 'standard-webhooks', '\\x00') RETURNING id`,
      [partnerId],
    );
    const [payout] = await t.db.query(
      `INSERT INTO payouts (partner_id, connection_id, platform, platform_payout_id, source_event_id, freelancer_ref,
                            freelancer_id, gross, currency, client_name, client_country, description,
                            service_category, status)
       VALUES ($1, $2, 'upwork', $3, $4, 'fl', $5, $6, 'USD', 'Acme Inc', 'US', 'Milestone 3',
               'software_development', 'routed')
       RETURNING id`,
      [partnerId, connection.id, unique('UPW-PO'), randomUUID(), freelancerId, gross],
    );
    return payout.id;
  }

  const fees = () => {
    const parts = {
      fixed: new MoneyDecimal('2.00'),
      percent: new MoneyDecimal('37.50'),
      fx: new MoneyDecimal('0.3125'),
      intermediary: new MoneyDecimal('0'),
    };
    return { ...parts, total: roundCents(parts.fixed.plus(parts.percent).plus(parts.fx)) };
  };

  async function settle(payoutId: string, freelancerId: string, gross: string): Promise<void> {
    const p = {
      payoutId,
      freelancerId,
      platform: 'upwork',
      provider: 'payoneer',
      gross: new MoneyDecimal(gross),
    };
    const f = fees();
    await t.db.transaction(async (tx) => {
      await bookings.bookRouted(tx, p);
      await bookings.bookSent(tx, { ...p, attemptSeq: 1 });
    });
    await t.db.transaction((tx) =>
      bookings.bookSettled(tx, { ...p, attemptSeq: 1, fees: f, net: p.gross.minus(f.total) }),
    );
  }

  describe('GET /v1/freelancers/{id}/balance', () => {
    it('answers zero for a freelancer with no payouts', async () => {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const res = await t.http
        .get(`/v1/freelancers/${freelancer.id}/balance`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(res.body).toEqual({ currency: 'USD', settled: '0.00', inTransit: '0.00', returned: '0.00' });
    });

    it('shows routed money in transit and settled nets', async () => {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const settledPayout = await seedPayout(partner.id, freelancer.id, '1250.00');
      await settle(settledPayout, freelancer.id, '1250.00');
      const routedPayout = await seedPayout(partner.id, freelancer.id, '99.95');
      await t.db.transaction((tx) =>
        bookings.bookRouted(tx, {
          payoutId: routedPayout,
          freelancerId: freelancer.id,
          platform: 'upwork',
          gross: new MoneyDecimal('99.95'),
        }),
      );
      const res = await t.http
        .get(`/v1/freelancers/${freelancer.id}/balance`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(res.body).toEqual({ currency: 'USD', settled: '1210.19', inTransit: '99.95', returned: '0.00' });
    });

    it("answers 404 for another partner's freelancer and for ids that are not ours, 401 without a key", async () => {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const res = await t.http.get(`/v1/freelancers/${freelancer.id}/balance`).set(bearer(stranger.apiKey));
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      await t.http.get(`/v1/freelancers/not-a-uuid/balance`).set(bearer(partner.apiKey)).expect(404);
      await t.http.get(`/v1/freelancers/${randomUUID()}/balance`).set(bearer(partner.apiKey)).expect(404);
      await t.http.get(`/v1/freelancers/${freelancer.id}/balance`).expect(401);
    });
  });

  describe('GET /v1/ledger/entries?payoutId=', () => {
    let freelancerId: string;
    let payoutId: string;

    beforeAll(async () => {
      freelancerId = (await createFreelancer(t.http, partner.apiKey)).id;
      payoutId = await seedPayout(partner.id, freelancerId, '1250.00');
      await settle(payoutId, freelancerId, '1250.00');
    });

    it("lists a payout's entries, oldest first, with their lines in two-digit amounts", async () => {
      const res = await t.http
        .get('/v1/ledger/entries')
        .query({ payoutId })
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.data.map((e: { kind: string }) => e.kind)).toEqual(['routed', 'sent', 'settled']);
      const settled = res.body.data[2];
      expect(settled).toEqual({
        id: expect.any(String),
        kind: 'settled',
        payoutId,
        reversesEntryId: null,
        description: expect.any(String),
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        lines: [
          {
            account: `freelancer_in_transit:${freelancerId}`,
            side: 'debit',
            amount: '1250.00',
            currency: 'USD',
          },
          {
            account: `freelancer_settled:${freelancerId}`,
            side: 'credit',
            amount: '1210.19',
            currency: 'USD',
          },
          { account: 'provider_fees:payoneer:fixed', side: 'credit', amount: '2.00', currency: 'USD' },
          { account: 'provider_fees:payoneer:percent', side: 'credit', amount: '37.50', currency: 'USD' },
          { account: 'provider_fees:payoneer:fx', side: 'credit', amount: '0.31', currency: 'USD' },
          { account: 'provider_disbursed:payoneer', side: 'debit', amount: '1250.00', currency: 'USD' },
          { account: 'provider_in_transit:payoneer', side: 'credit', amount: '1250.00', currency: 'USD' },
        ],
      });
    });

    it('pages with limit and cursor', async () => {
      const first = await t.http
        .get('/v1/ledger/entries')
        .query({ payoutId, limit: 2 })
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(first.body.data.map((e: { kind: string }) => e.kind)).toEqual(['routed', 'sent']);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await t.http
        .get('/v1/ledger/entries')
        .query({ payoutId, limit: 2, cursor: first.body.nextCursor })
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(second.body).toEqual({ data: [expect.objectContaining({ kind: 'settled' })], nextCursor: null });
    });

    it("answers 404 for another partner's payout and for an unknown one", async () => {
      await t.http.get('/v1/ledger/entries').query({ payoutId }).set(bearer(stranger.apiKey)).expect(404);
      await t.http
        .get('/v1/ledger/entries')
        .query({ payoutId: randomUUID() })
        .set(bearer(partner.apiKey))
        .expect(404);
    });

    it('names the field when payoutId or the cursor is missing or malformed', async () => {
      for (const query of [{}, { payoutId: 'po-1' }, { payoutId, cursor: 'nope' }, { payoutId, limit: 0 }]) {
        const res = await t.http.get('/v1/ledger/entries').query(query).set(bearer(partner.apiKey));
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.errors).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ field: Object.keys(query).pop() ?? 'payoutId' }),
          ]),
        );
      }
    });

    it('wants a partner key', async () => {
      await t.http.get('/v1/ledger/entries').query({ payoutId }).expect(401);
    });
  });

  describe('GET /v1/ops/ledger/trial-balance', () => {
    it('shows debits equal to credits, in two-digit amounts', async () => {
      const res = await t.http.get('/v1/ops/ledger/trial-balance').set(ops).expect(200);
      const usd = res.body.currencies.find((c: { currency: string }) => c.currency === 'USD');
      expect(usd).toEqual({
        currency: 'USD',
        debits: expect.stringMatching(/^\d+\.\d\d$/),
        credits: usd.debits,
      });
    });

    it('wants the ops token', async () => {
      await t.http.get('/v1/ops/ledger/trial-balance').expect(401);
      await t.http.get('/v1/ops/ledger/trial-balance').set(bearer(partner.apiKey)).expect(401);
    });
  });

  it('documents the ledger endpoints in /docs-json', async () => {
    const res = await t.http.get('/docs-json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/freelancers/{id}/balance',
        '/v1/ledger/entries',
        '/v1/ops/ledger/trial-balance',
      ]),
    );
  });
});
