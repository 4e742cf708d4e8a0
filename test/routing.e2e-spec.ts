import { ProviderHealthService } from '../src/routing/provider-health.service';
import { bearer, createPartner, ops, startApp, TestApp } from './support/app';
import { MovableClock } from './support/movable-clock';
import { expectProblem } from './support/problem';

const COOLDOWN_MS = 30_000;
const THRESHOLD = 3;

describe('routing (e2e)', () => {
  const clock = new MovableClock();
  let t: TestApp;
  let partner: { apiKey: string };

  beforeAll(async () => {
    t = await startApp(
      { BREAKER_FAILURE_THRESHOLD: String(THRESHOLD), BREAKER_COOLDOWN_MS: String(COOLDOWN_MS) },
      { clock },
    );
    partner = await createPartner(t.http);
  });

  afterEach(async () => {
    // Leave every provider on with a closed breaker for the other suites of the run.
    for (const id of ['upwork', 'payoneer', 'correspondent', 'wise', 'zindigi', 'sadapay']) {
      await t.http.post(`/v1/ops/providers/${id}/enable`).set(ops).expect(200);
    }
  });

  afterAll(async () => {
    await t.close();
  });

  const quote = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    t.http
      .post('/v1/quotes')
      .set({ ...bearer(partner.apiKey), ...headers })
      .send(body);
  const upwork = { platform: 'upwork', amount: '1250.00', currency: 'USD', accountKind: 'bank_fcy' };

  describe('POST /v1/quotes', () => {
    it('answers 200 with every route of the catalog, ranked, with exact fee strings', async () => {
      const res = await quote(upwork).expect(200);
      expect(res.body).toEqual({
        chosen: 'upwork-payoneer-usd',
        quotes: [
          {
            routeId: 'upwork-payoneer-usd',
            provider: 'payoneer',
            rail: 'payoneer_withdrawal',
            fees: { fixed: '2.00', percent: '37.50', fx: '0.00', intermediary: '0.00', total: '39.50' },
            net: '1210.50',
            etaHours: 96,
            feeVersion: expect.any(Number),
          },
          {
            routeId: 'upwork-wire-usd',
            provider: 'upwork',
            rail: 'swift',
            fees: { fixed: '30.00', percent: '0.00', fx: '0.00', intermediary: '20.00', total: '50.00' },
            net: '1200.00',
            etaHours: 168,
            feeVersion: expect.any(Number),
          },
        ],
        rejected: [
          { routeId: 'direct-swift-usd', reason: 'platform_not_served' },
          { routeId: 'fiverr-payoneer-swift-usd', reason: 'platform_not_served' },
          { routeId: 'fiverr-payoneer-usd', reason: 'platform_not_served' },
          { routeId: 'payoneer-balance-usd', reason: 'platform_not_served' },
          { routeId: 'payoneer-pkr-bank', reason: 'pays_pkr_not_usd' },
          { routeId: 'sadapay-remittance-pkr', reason: 'platform_not_served' },
          { routeId: 'upwork-local-bank-pkr', reason: 'pays_pkr_not_usd' },
          { routeId: 'wise-swift-usd', reason: 'route_inactive' },
          { routeId: 'zindigi-usd-wallet', reason: 'platform_not_served' },
        ],
      });
    });

    it('shows up to six exact fraction digits in components and two in total and net', async () => {
      const res = await quote({ ...upwork, platform: 'fiverr', amount: '10.05' }).expect(200);
      expect(res.body.quotes[0]).toEqual(
        expect.objectContaining({
          routeId: 'fiverr-payoneer-usd',
          fees: { fixed: '2.99', percent: '0.3015', fx: '0.00', intermediary: '0.00', total: '3.29' },
          net: '6.76',
        }),
      );
    });

    it('answers chosen null when fees exceed the amount on every route', async () => {
      const res = await quote({ ...upwork, amount: '1.00' }).expect(200);
      expect(res.body.chosen).toBeNull();
      expect(res.body.quotes).toEqual([]);
      expect(res.body.rejected).toContainEqual({ routeId: 'upwork-wire-usd', reason: 'fees_exceed_amount' });
      expect(res.body.rejected).toHaveLength(11);
    });

    it.each([
      ['amount', { amount: 1250 }],
      ['amount', { amount: '1250.001' }],
      ['amount', { amount: '0.00' }],
      ['amount', { amount: '-5.00' }],
      ['amount', { amount: '1000000.01' }],
      ['amount', { amount: '1e3' }],
      ['currency', { currency: 'PKR' }],
      ['platform', { platform: 'ebay' }],
      ['accountKind', { accountKind: 'savings' }],
      ['platform', { platform: undefined }],
      ['extra', { extra: 'field' }],
    ])('refuses a bad %s with a problem naming the field', async (field, change) => {
      const res = await quote({ ...upwork, ...change });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    });

    it('accepts the largest amount and one with a single fraction digit', async () => {
      expect((await quote({ ...upwork, amount: '1000000.00' }).expect(200)).body.chosen).toBe(
        'upwork-wire-usd',
      );
      expect((await quote({ ...upwork, amount: '1250.5' }).expect(200)).body.quotes[0].net).toBe('1210.98');
    });

    it('needs a partner key', async () => {
      expectProblem(await t.http.post('/v1/quotes').send(upwork), 401);
    });

    it('answers the same again for a repeated Idempotency-Key and 422 for another body', async () => {
      const key = { 'Idempotency-Key': `quote-${Date.now()}` };
      const first = await quote(upwork, key).expect(200);
      const again = await quote(upwork, key).expect(200);
      expect(again.body).toEqual(first.body);
      expectProblem(await quote({ ...upwork, amount: '99.00' }, key), 422);
    });
  });

  describe('provider health', () => {
    const payoneerRoutes = [
      'fiverr-payoneer-swift-usd',
      'fiverr-payoneer-usd',
      'payoneer-balance-usd',
      'payoneer-pkr-bank',
      'upwork-payoneer-usd',
    ];

    it('drops a disabled provider’s routes from the quotes and brings them back when enabled', async () => {
      const disabled = await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
      expect(disabled.body).toEqual({ id: 'payoneer', name: 'Payoneer', enabled: false, breaker: 'closed' });

      const res = await quote(upwork).expect(200);
      expect(res.body.chosen).toBe('upwork-wire-usd');
      for (const routeId of payoneerRoutes) {
        expect(res.body.rejected).toContainEqual({ routeId, reason: 'provider_disabled' });
      }

      await t.http.post('/v1/ops/providers/payoneer/enable').set(ops).expect(200);
      expect((await quote(upwork).expect(200)).body.chosen).toBe('upwork-payoneer-usd');
    });

    it('rejects a tripped provider’s routes as unhealthy until the cool-down, then quotes them again', async () => {
      const health = t.app.get(ProviderHealthService);
      for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('payoneer');

      const open = await quote(upwork).expect(200);
      expect(open.body.chosen).toBe('upwork-wire-usd');
      expect(open.body.rejected).toContainEqual({
        routeId: 'upwork-payoneer-usd',
        reason: 'provider_unhealthy',
      });
      const providers = await t.http.get('/v1/ops/providers').set(ops).expect(200);
      expect(providers.body.data).toContainEqual({
        id: 'payoneer',
        name: 'Payoneer',
        enabled: true,
        breaker: 'open',
      });
      const metrics = await t.http.get('/metrics').set(ops).expect(200);
      expect(metrics.text).toMatch(/provider_breaker_open\{provider="payoneer"\} 1/);

      clock.advance(COOLDOWN_MS);
      const back = await quote(upwork).expect(200);
      expect(back.body.chosen).toBe('upwork-payoneer-usd');
    });

    it('answers 404 for an unknown provider and 401 without the ops token', async () => {
      expectProblem(await t.http.post('/v1/ops/providers/nope/disable').set(ops), 404);
      expectProblem(await t.http.post('/v1/ops/providers/payoneer/disable'), 401);
    });
  });

  describe('ops routes', () => {
    const route = 'fiverr-payoneer-swift-usd';

    it('lists the catalog with current fees', async () => {
      const res = await t.http.get('/v1/ops/routes').set(ops).expect(200);
      expect(res.body.data).toHaveLength(11);
      expect(res.body.data).toContainEqual(
        expect.objectContaining({
          id: 'zindigi-usd-wallet',
          provider: 'zindigi',
          percentFee: '1.00',
          percentMin: '1.00',
          percentMax: '25.00',
          minAmount: '10.00',
          maxAmount: '25000.00',
          active: true,
          feeVersion: expect.any(Number),
        }),
      );
    });

    it('makes a fee change a new version used by quotes from now on', async () => {
      const [before] = (await t.http.get('/v1/ops/routes').set(ops).expect(200)).body.data.filter(
        (r: { id: string }) => r.id === route,
      );
      try {
        const res = await t.http
          .patch(`/v1/ops/routes/${route}`)
          .set(ops)
          .send({ fixedFee: '5.00', intermediaryFee: '0.00', etaHours: 72 })
          .expect(200);
        expect(res.body).toEqual(
          expect.objectContaining({
            id: route,
            fixedFee: '5.00',
            intermediaryFee: '0.00',
            etaHours: 72,
            feeVersion: before.feeVersion + 1,
          }),
        );
        const fiverr = await quote({ ...upwork, platform: 'fiverr', amount: '100.00' }).expect(200);
        expect(fiverr.body.quotes[0]).toEqual(
          expect.objectContaining({
            routeId: route,
            fees: { fixed: '5.00', percent: '0.00', fx: '0.00', intermediary: '0.00', total: '5.00' },
            net: '95.00',
            feeVersion: before.feeVersion + 1,
          }),
        );
      } finally {
        await t.http
          .patch(`/v1/ops/routes/${route}`)
          .set(ops)
          .send({
            fixedFee: before.fixedFee,
            intermediaryFee: before.intermediaryFee,
            etaHours: before.etaHours,
          })
          .expect(200);
      }
    });

    it('refuses bad changes with a problem naming the field, and changes nothing', async () => {
      const versionOf = async () =>
        (await t.http.get('/v1/ops/routes').set(ops)).body.data.find((r: { id: string }) => r.id === route)
          .feeVersion;
      const version = await versionOf();
      for (const [body, field, status] of [
        [{ fixedFee: 5 }, 'fixedFee', 400],
        [{ percentFee: '100.00' }, 'percentFee', 400],
        [{ percentFee: '1.234' }, 'percentFee', 400],
        [{ fxSpreadBps: 1.5 }, 'fxSpreadBps', 400],
        [{ minAmount: '0.00' }, 'minAmount', 400],
        [{ fixedFee: null }, 'fixedFee', 400],
        [{ nonsense: true }, 'nonsense', 400],
        [{}, 'body', 400],
        [{ minAmount: '2000000.00' }, 'minAmount', 400],
        [{ minAmount: '500.00', maxAmount: '100.00' }, 'minAmount', 422],
        [{ percentMin: '5.00', percentMax: '1.00' }, 'percentMin', 422],
        [{ percentFee: '60.00', fxSpreadBps: 5000 }, 'percentFee', 422],
      ] as const) {
        const res = await t.http.patch(`/v1/ops/routes/${route}`).set(ops).send(body);
        expectProblem(res, status);
        expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      }
      expect(await versionOf()).toBe(version);
      // A change of the upper bound alone that crosses the stored lower one names the field it sent.
      for (const [body, field] of [
        [{ maxAmount: '5.00' }, 'maxAmount'],
        [{ percentMax: '0.50' }, 'percentMax'],
      ] as const) {
        const res = await t.http.patch('/v1/ops/routes/zindigi-usd-wallet').set(ops).send(body);
        expectProblem(res, 422);
        expect(res.body.errors).toEqual([expect.objectContaining({ field })]);
      }
      expectProblem(
        await t.http.patch('/v1/ops/routes/no-such-route').set(ops).send({ fixedFee: '1.00' }),
        404,
      );
    });

    it('adds no fee version for a change that leaves the schedule as it is', async () => {
      const [before] = (await t.http.get('/v1/ops/routes').set(ops).expect(200)).body.data.filter(
        (r: { id: string }) => r.id === route,
      );
      const res = await t.http
        .patch(`/v1/ops/routes/${route}`)
        .set(ops)
        .send({ fixedFee: before.fixedFee, percentMin: before.percentMin, etaHours: before.etaHours })
        .expect(200);
      expect(res.body).toEqual(before);
    });

    it('switches a route off and on without a new fee version', async () => {
      const off = await t.http
        .patch(`/v1/ops/routes/upwork-wire-usd`)
        .set(ops)
        .send({ active: false })
        .expect(200);
      try {
        expect(off.body.active).toBe(false);
        const res = await quote({ ...upwork, amount: '5000.00' }).expect(200);
        expect(res.body.rejected).toContainEqual({ routeId: 'upwork-wire-usd', reason: 'route_inactive' });
      } finally {
        const on = await t.http
          .patch(`/v1/ops/routes/upwork-wire-usd`)
          .set(ops)
          .send({ active: true })
          .expect(200);
        expect(on.body.feeVersion).toBe(off.body.feeVersion);
      }
    });
  });

  it('documents every routing endpoint in /docs-json', async () => {
    const res = await t.http.get('/docs-json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/quotes',
        '/v1/ops/routes',
        '/v1/ops/routes/{routeId}',
        '/v1/ops/providers',
        '/v1/ops/providers/{providerId}/disable',
        '/v1/ops/providers/{providerId}/enable',
      ]),
    );
  });
});
