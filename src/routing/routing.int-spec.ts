import { MovableClock } from '../../test/support/movable-clock';
import { startApp, TestApp } from '../../test/support/app';
import { MoneyDecimal } from '../money/money';
import { MetricsService } from '../ops/metrics.service';
import { CATALOG_FILE } from './catalog';
import { CatalogService } from './catalog.service';
import { ProviderHealthService } from './provider-health.service';
import { QUOTE_STALENESS_MS, RoutingService } from './routing.service';

const THRESHOLD = 3;
const WINDOW_MS = 10_000;
const COOLDOWN_MS = 30_000;
/** The default SEND_TIMEOUT_MS, and the margin a send is given past it to report its outcome. */
const SEND_TIMEOUT_MS = 30_000;
const TRIAL_REPORT_MARGIN_MS = 5_000;
const BREAKER_ENV = {
  BREAKER_FAILURE_THRESHOLD: String(THRESHOLD),
  BREAKER_WINDOW_MS: String(WINDOW_MS),
  BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
};

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);

describe('routing against Postgres and Redis', () => {
  const clock = new MovableClock();
  let t: TestApp;
  let other: TestApp;
  let sut: RoutingService;
  let health: ProviderHealthService;
  let catalog: CatalogService;

  beforeAll(async () => {
    t = await startApp(BREAKER_ENV, { clock });
    // A second process on the same database and Redis, as another worker or api replica would be.
    other = await startApp(BREAKER_ENV, { clock });
    sut = t.app.get(RoutingService);
    health = t.app.get(ProviderHealthService);
    catalog = t.app.get(CatalogService);
  });

  afterEach(async () => {
    // Leave providers on and breakers closed for the other suites of the run.
    for (const provider of CATALOG_FILE.providers) await health.enable(provider.id);
  });

  afterAll(async () => {
    await other.close();
    await t.close();
  });

  const upwork = (gross = '1600.00') =>
    ({ platform: 'upwork', gross: new MoneyDecimal(gross), accountKind: 'bank_fcy' }) as const;

  describe('catalog', () => {
    it('is seeded with exactly the routes and providers of route-catalog.json', async () => {
      const routes = await catalog.listRoutes();
      expect(routes).toEqual(
        [...CATALOG_FILE.routes].sort(byId).map((r) => ({
          ...r,
          feeVersion: expect.any(Number),
          feesValidFrom: expect.any(String),
        })),
      );
      const providers = await catalog.listProviders();
      expect(providers.map(({ id, name }) => ({ id, name }))).toEqual([...CATALOG_FILE.providers].sort(byId));
    });

    it('refuses to change or delete a fee version', async () => {
      await expect(
        t.db.query(`UPDATE route_fee_versions SET fixed_fee = 0 WHERE version = 1`),
      ).rejects.toThrow(/never changed/);
      await expect(t.db.query(`DELETE FROM route_fee_versions`)).rejects.toThrow(/never changed/);
    });
  });

  describe('decide', () => {
    it('returns a self-contained decision that a later fee change leaves as it was', async () => {
      const route = 'upwork-payoneer-usd';
      const [before] = (await catalog.listRoutes()).filter((r) => r.id === route);
      const first = await sut.decide(upwork());
      const frozen = JSON.parse(JSON.stringify(first));
      expect(first).toEqual(
        expect.objectContaining({
          chosen: route,
          decidedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          input: { platform: 'upwork', gross: '1600.00', accountKind: 'bank_fcy' },
        }),
      );
      expect(first.quotes[0]).toEqual(
        expect.objectContaining({ routeId: route, feeVersion: before.feeVersion, net: '1550.00' }),
      );

      try {
        const changed = await catalog.updateRoute(route, { percentFee: '4.00' });
        expect(changed.feeVersion).toBe(before.feeVersion + 1);
        const second = await sut.decide(upwork());
        expect(second.chosen).toBe('upwork-wire-usd');
        expect(second.quotes.find((q) => q.routeId === route)).toEqual(
          expect.objectContaining({
            feeVersion: before.feeVersion + 1,
            fees: expect.objectContaining({ percent: '64.00', total: '66.00' }),
          }),
        );
        expect(JSON.parse(JSON.stringify(first))).toEqual(frozen);
        const [version] = await t.db.query(
          `SELECT percent_fee FROM route_fee_versions WHERE route_id = $1 AND version = $2`,
          [route, before.feeVersion],
        );
        expect(version.percent_fee).toBe(before.percentFee);
      } finally {
        await catalog.updateRoute(route, { percentFee: before.percentFee });
      }
    });

    it('sees a change made by another process at once; quotes there see it within the staleness bound', async () => {
      const otherRouting = other.app.get(RoutingService);
      const request = {
        platform: 'upwork',
        amount: '1600.00',
        currency: 'USD',
        accountKind: 'bank_fcy',
      } as const;
      const quoted = async () => (await otherRouting.quote(request)).chosen;
      expect(await quoted()).toBe('upwork-payoneer-usd');

      await health.disable('payoneer');
      expect((await otherRouting.decide(upwork())).chosen).toBe('upwork-wire-usd');

      // That decision refreshed the copies there; later changes reach its quotes once the bound has passed.
      await health.enable('payoneer');
      clock.advance(QUOTE_STALENESS_MS);
      expect(await quoted()).toBe('upwork-payoneer-usd');
      for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('payoneer');
      clock.advance(QUOTE_STALENESS_MS);
      expect(await quoted()).toBe('upwork-wire-usd');
    });

    it('never chooses a disabled provider, and says so for each of its routes', async () => {
      await health.disable('payoneer');
      expect(await health.availability('payoneer')).toBe('disabled');
      expect(await health.acquireSend('payoneer')).toBe(false);
      const decision = await sut.decide(upwork('1000.00'));
      expect(decision.chosen).toBe('upwork-wire-usd');
      expect(decision.quotes.map((q) => q.provider)).not.toContain('payoneer');
      const payoneerRoutes = CATALOG_FILE.routes.filter((r) => r.provider === 'payoneer').map((r) => r.id);
      for (const id of payoneerRoutes) {
        expect(decision.rejected).toContainEqual({ routeId: id, reason: 'provider_disabled' });
      }
      await health.enable('payoneer');
      expect((await sut.decide(upwork('1000.00'))).chosen).toBe('upwork-payoneer-usd');
    });

    it('keeps the routes only provider state held back as its standby, quoted as if their providers were back', async () => {
      await health.disable('payoneer');
      const held = await sut.decide(upwork('1000.00'));
      await health.enable('payoneer');
      const open = await sut.decide(upwork('1000.00'));
      expect(open.standby).toEqual([]);
      // The same figures and fee version the open decision quotes for payoneer's route; every other route that
      // provider state did not hold back (another platform's, say) stays out.
      expect(held.standby).toEqual(open.quotes.filter((q) => q.provider === 'payoneer'));
      expect(held.standby!.map((q) => q.routeId)).toEqual(['upwork-payoneer-usd']);
      // Were no route to carry it, the held decision would wait for the provider; the open one has nothing to wait for.
      expect(sut.waitsForProviders({ ...open, chosen: null, quotes: [] })).toBeNull();
      expect(sut.waitsForProviders({ ...held, chosen: null, quotes: [] })).toBe('provider_disabled');
      expect(
        sut.waitsForProviders({
          ...held,
          chosen: null,
          quotes: [],
          rejected: held.rejected.map((r) =>
            r.reason === 'provider_disabled' ? { ...r, reason: 'provider_unhealthy' as const } : r,
          ),
        }),
      ).toBe('breaker_open');
      expect(sut.waitsForProviders({ ...held, standby: undefined })).toBeNull();
    });
  });

  describe('circuit breaker', () => {
    const phaseOf = async (id: string) => (await health.list()).find((p) => p.id === id)!.breaker;
    const gauge = async (id: string) => {
      const metric = await t.app.get(MetricsService).breakerState.get();
      return metric.values.find((v) => v.labels.provider === id)?.value;
    };

    it('opens after repeated failures within the window, for every process', async () => {
      for (let i = 1; i < THRESHOLD; i++) await health.recordFailure('upwork');
      expect(await health.availability('upwork')).toBe('available');
      await health.recordFailure('upwork');

      expect(await phaseOf('upwork')).toBe('open');
      expect(await gauge('upwork')).toBe(1);
      expect(await other.app.get(ProviderHealthService).availability('upwork')).toBe('unhealthy');
      const decision = await other.app.get(RoutingService).decide(upwork());
      expect(decision.rejected).toContainEqual({ routeId: 'upwork-wire-usd', reason: 'provider_unhealthy' });
      expect(decision.quotes.map((q) => q.routeId)).toEqual(['upwork-payoneer-usd']);
    });

    it('does not count failures that fell out of the window', async () => {
      for (let i = 1; i < THRESHOLD; i++) await health.recordFailure('correspondent');
      clock.advance(WINDOW_MS + 1);
      await health.recordFailure('correspondent');
      expect(await phaseOf('correspondent')).toBe('closed');
    });

    it('lets exactly one trial send through after the cool-down; its failure opens it again', async () => {
      for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('wise');
      expect(await health.acquireSend('wise')).toBe(false);
      clock.advance(COOLDOWN_MS);
      expect(await phaseOf('wise')).toBe('half_open');
      expect(await health.availability('wise')).toBe('available');

      const contenders = [health, other.app.get(ProviderHealthService)];
      const grants = await Promise.all(
        Array.from({ length: 10 }, (_, i) => contenders[i % 2].acquireSend('wise')),
      );
      expect(grants.filter(Boolean)).toHaveLength(1);
      expect(await phaseOf('wise')).toBe('trial_in_flight');
      expect(await health.availability('wise')).toBe('unhealthy');

      await health.recordFailure('wise');
      expect(await phaseOf('wise')).toBe('open');
      clock.advance(COOLDOWN_MS / 2);
      expect(await phaseOf('wise')).toBe('open');
    });

    it('closes when the trial send succeeds, and ignores a success while still cooling down', async () => {
      for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('zindigi');
      await health.recordSuccess('zindigi');
      expect(await phaseOf('zindigi')).toBe('open');
      clock.advance(COOLDOWN_MS);
      expect(await health.acquireSend('zindigi')).toBe(true);
      await health.recordSuccess('zindigi');
      expect(await phaseOf('zindigi')).toBe('closed');
      expect(await gauge('zindigi')).toBe(0);
      expect(await health.acquireSend('zindigi')).toBe(true);
    });

    it('grants another trial when a granted one never reports back once its send can no longer be on its way', async () => {
      for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('sadapay');
      clock.advance(COOLDOWN_MS);
      expect(await health.acquireSend('sadapay')).toBe(true);
      expect(await health.acquireSend('sadapay')).toBe(false);
      // The trial's send may take SEND_TIMEOUT_MS (30 s by default, as long as this cool-down) from after it was
      // granted, plus the time to report: a cool-down later it may still be in flight.
      clock.advance(COOLDOWN_MS);
      expect(await health.acquireSend('sadapay')).toBe(false);
      clock.advance(SEND_TIMEOUT_MS + TRIAL_REPORT_MARGIN_MS - COOLDOWN_MS);
      expect(await health.acquireSend('sadapay')).toBe(true);
    });

    it('lets no second trial through while the first may still be sending, with a cool-down shorter than a send', async () => {
      // BREAKER_COOLDOWN_MS 5 s, SEND_TIMEOUT_MS 30 s: a provider that hangs opens the breaker, its trial hangs
      // too, and every cool-down another payout's send was let through to it while the first still waited.
      const shortCooldown = await startApp(
        { ...BREAKER_ENV, BREAKER_COOLDOWN_MS: '5000', SEND_TIMEOUT_MS: '30000' },
        { clock },
      );
      try {
        const short = shortCooldown.app.get(ProviderHealthService);
        for (let i = 0; i < THRESHOLD; i++) await short.recordFailure('sadapay');
        clock.advance(5_000);
        expect(await short.acquireSend('sadapay')).toBe(true);
        let sinceTrial = 0;
        for (const at of [5_000, 10_000, 29_000, 34_000]) {
          clock.advance(at - sinceTrial);
          sinceTrial = at;
          expect(await short.acquireSend('sadapay')).toBe(false);
          expect((await short.list()).find((p) => p.id === 'sadapay')!.breaker).toBe('trial_in_flight');
        }
        // Past the send timeout and the margin to report it, a trial that never reported (its worker died)
        // no longer blocks.
        clock.advance(35_000 - sinceTrial);
        expect(await short.acquireSend('sadapay')).toBe(true);
      } finally {
        await shortCooldown.close();
      }
    });

    it('starts closed again when ops enable the provider', async () => {
      for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('upwork');
      expect(await phaseOf('upwork')).toBe('open');
      await health.enable('upwork');
      expect(await phaseOf('upwork')).toBe('closed');
    });
  });
});
