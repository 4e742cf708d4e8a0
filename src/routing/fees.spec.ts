import { MoneyDecimal } from '../money/money';
import { CATALOG_FILE, catalogFromFile, CatalogRoute } from './catalog';
import { computeFees } from './fees';
import { ProviderAvailability, quoteView, rankRoutes, REJECTION_REASONS } from './ranking';

/** Hand-computed cases on the real catalog (src/routing/route-catalog.json). */
describe('fee math and ranking on the real catalog', () => {
  const catalog = catalogFromFile();
  const everyProvider = (availability: ProviderAvailability = 'available') =>
    new Map(CATALOG_FILE.providers.map((p) => [p.id, availability]));
  const route = (id: string): CatalogRoute => {
    const found = catalog.find((r) => r.id === id);
    if (!found) throw new Error(`no route ${id}`);
    return found;
  };
  const fees = (id: string, gross: string) => {
    const f = computeFees(route(id).fees, new MoneyDecimal(gross));
    return { ...quoteView({ route: route(id), fees: f }).fees, net: f.net.toFixed(2) };
  };
  const rank = (
    platform: string,
    gross: string,
    accountKind = 'bank_fcy',
    providers = everyProvider(),
    routes: CatalogRoute[] = catalog,
  ) => {
    const ranking = rankRoutes(routes, providers, { platform, gross: new MoneyDecimal(gross), accountKind });
    return {
      quotes: ranking.quotes.map(quoteView),
      rejected: Object.fromEntries(ranking.rejected.map((r) => [r.routeId, r.reason])),
    };
  };

  it('ranks upwork into a dollar bank account at 1600.00: both routes cost 50.00, the faster one wins', () => {
    const { quotes, rejected } = rank('upwork', '1600.00');
    expect(quotes).toEqual([
      {
        routeId: 'upwork-payoneer-usd',
        provider: 'payoneer',
        rail: 'payoneer_withdrawal',
        fees: { fixed: '2.00', percent: '48.00', fx: '0.00', intermediary: '0.00', total: '50.00' },
        net: '1550.00',
        etaHours: 96,
        feeVersion: 1,
      },
      {
        routeId: 'upwork-wire-usd',
        provider: 'upwork',
        rail: 'swift',
        fees: { fixed: '30.00', percent: '0.00', fx: '0.00', intermediary: '20.00', total: '50.00' },
        net: '1550.00',
        etaHours: 168,
        feeVersion: 1,
      },
    ]);
    expect(rejected).toEqual({
      'direct-swift-usd': 'platform_not_served',
      'fiverr-payoneer-swift-usd': 'platform_not_served',
      'fiverr-payoneer-usd': 'platform_not_served',
      'payoneer-balance-usd': 'platform_not_served',
      'payoneer-pkr-bank': 'pays_pkr_not_usd',
      'sadapay-remittance-pkr': 'platform_not_served',
      'upwork-local-bank-pkr': 'pays_pkr_not_usd',
      'wise-swift-usd': 'route_inactive',
      'zindigi-usd-wallet': 'platform_not_served',
    });
  });

  it.each([
    ['1000.00', 'upwork-payoneer-usd', '968.00'],
    ['1599.99', 'upwork-payoneer-usd', '1549.99'],
    ['1600.16', 'upwork-payoneer-usd', '1550.16'],
    ['1600.17', 'upwork-wire-usd', '1550.17'],
    ['2000.00', 'upwork-wire-usd', '1950.00'],
  ])('crosses over from Payoneer to the Upwork wire just above 1600: at %s %s wins', (gross, winner, net) => {
    const [best] = rank('upwork', gross).quotes;
    expect(best.routeId).toBe(winner);
    expect(best.net).toBe(net);
  });

  it('rounds the total once, half-up, after adding exact components', () => {
    expect(fees('upwork-payoneer-usd', '1600.16')).toEqual(
      expect.objectContaining({ percent: '48.0048', total: '50.00' }),
    );
    expect(fees('upwork-payoneer-usd', '1600.17')).toEqual(
      expect.objectContaining({ percent: '48.0051', total: '50.01' }),
    );
    expect(fees('fiverr-payoneer-usd', '10.05')).toEqual(
      expect.objectContaining({ fixed: '2.99', percent: '0.3015', total: '3.29', net: '6.76' }),
    );
    expect(fees('fiverr-payoneer-usd', '10.50')).toEqual(
      expect.objectContaining({ percent: '0.315', total: '3.31', net: '7.19' }),
    );
  });

  it('rounds the sum of the exact components, not each component: sub-cent parts add up before rounding', () => {
    // A 1 % route with a 150 bps FX spread on 123.45: 0.99 + 1.2345 + 1.85175 = 4.07625, so the total is 4.08.
    // Rounding each part first (0.99 + 1.23 + 1.85) would charge 4.07.
    const mixed = { ...route('upwork-local-bank-pkr').fees, percentFee: new MoneyDecimal('1.00') };
    const f = computeFees(mixed, new MoneyDecimal('123.45'));
    expect([f.percent.toString(), f.fx.toString(), f.total.toFixed(2), f.net.toFixed(2)]).toEqual([
      '1.2345',
      '1.85175',
      '4.08',
      '119.37',
    ]);
  });

  it('raises the payoneer-balance-usd percent part to its $1 floor', () => {
    expect(fees('payoneer-balance-usd', '20.00')).toEqual({
      fixed: '0.00',
      percent: '1.00',
      fx: '0.00',
      intermediary: '0.00',
      total: '1.00',
      net: '19.00',
    });
    expect(fees('payoneer-balance-usd', '33.33')).toEqual(expect.objectContaining({ percent: '1.00' }));
    expect(fees('payoneer-balance-usd', '33.34')).toEqual(
      expect.objectContaining({ percent: '1.0002', total: '1.00', net: '32.34' }),
    );
    expect(fees('payoneer-balance-usd', '100.00')).toEqual(expect.objectContaining({ percent: '3.00' }));
  });

  it('prefers payoneer-balance-usd over direct SWIFT for deel up to the point where 3 % passes $25', () => {
    expect(rank('deel', '833.33').quotes.map((q) => [q.routeId, q.net])).toEqual([
      ['payoneer-balance-usd', '808.33'],
      ['direct-swift-usd', '808.33'],
    ]);
    expect(rank('deel', '1000.00').quotes.map((q) => [q.routeId, q.net])).toEqual([
      ['direct-swift-usd', '975.00'],
      ['payoneer-balance-usd', '970.00'],
    ]);
  });

  it('applies the zindigi-usd-wallet floor, cap and amount limits', () => {
    expect(fees('zindigi-usd-wallet', '10.00')).toEqual(
      expect.objectContaining({ percent: '1.00', total: '1.00', net: '9.00' }),
    );
    expect(fees('zindigi-usd-wallet', '250.00')).toEqual(
      expect.objectContaining({ percent: '2.50', total: '2.50', net: '247.50' }),
    );
    expect(fees('zindigi-usd-wallet', '3000.00')).toEqual(
      expect.objectContaining({ percent: '25.00', total: '25.00', net: '2975.00' }),
    );
    const atCeiling = rank('payoneer', '25000.00', 'fintech_usd');
    expect(atCeiling.quotes.map((q) => [q.routeId, q.fees.total, q.net])).toEqual([
      ['zindigi-usd-wallet', '25.00', '24975.00'],
    ]);
    expect(atCeiling.rejected).toEqual({
      'direct-swift-usd': 'platform_not_served',
      'fiverr-payoneer-swift-usd': 'platform_not_served',
      'fiverr-payoneer-usd': 'platform_not_served',
      'payoneer-balance-usd': 'account_kind_not_served',
      'payoneer-pkr-bank': 'account_kind_not_served',
      'sadapay-remittance-pkr': 'pays_pkr_not_usd',
      'upwork-local-bank-pkr': 'platform_not_served',
      'upwork-payoneer-usd': 'platform_not_served',
      'upwork-wire-usd': 'platform_not_served',
      'wise-swift-usd': 'route_inactive',
    });
    expect(rank('payoneer', '25000.01', 'fintech_usd')).toEqual(
      expect.objectContaining({
        quotes: [],
        rejected: expect.objectContaining({ 'zindigi-usd-wallet': 'above_maximum' }),
      }),
    );
    expect(rank('stripe', '9.99', 'fintech_usd').rejected['zindigi-usd-wallet']).toBe('below_minimum');
  });

  it('never quotes a route that pays PKR into a dollar account, whatever it would cost', () => {
    const payoneer = rank('payoneer', '500.00');
    expect(payoneer.rejected['payoneer-pkr-bank']).toBe('pays_pkr_not_usd');
    expect(payoneer.rejected['sadapay-remittance-pkr']).toBe('pays_pkr_not_usd');
    expect(rank('upwork', '500.00').rejected['upwork-local-bank-pkr']).toBe('pays_pkr_not_usd');
  });

  it('computes an FX spread in basis points, exactly', () => {
    const dollarTwin = { ...route('upwork-local-bank-pkr'), deliversCurrency: 'USD' };
    const quote = quoteView({
      route: dollarTwin,
      fees: computeFees(dollarTwin.fees, new MoneyDecimal('123.45')),
    });
    expect(quote.fees).toEqual({
      fixed: '0.99',
      percent: '0.00',
      fx: '1.85175',
      intermediary: '0.00',
      total: '2.84',
    });
    expect(quote.net).toBe('120.61');
  });

  it('rejects routes whose fees eat a tiny amount, and chooses nothing when none is left', () => {
    const { quotes, rejected } = rank('upwork', '0.01');
    expect(quotes).toEqual([]);
    expect(rejected['upwork-wire-usd']).toBe('fees_exceed_amount');
    expect(rejected['upwork-payoneer-usd']).toBe('fees_exceed_amount');
    expect(rank('upwork', '2.00').rejected['upwork-payoneer-usd']).toBe('fees_exceed_amount');
  });

  it('rejects a net of exactly zero and quotes a net of one cent', () => {
    expect(rank('payoneer', '1.00').rejected['payoneer-balance-usd']).toBe('fees_exceed_amount');
    expect(rank('payoneer', '1.01').quotes.map((q) => [q.routeId, q.net])).toEqual([
      ['payoneer-balance-usd', '0.01'],
    ]);
  });

  it('rejects a disabled or unhealthy provider’s routes first, and never quotes them', () => {
    const providers = everyProvider();
    providers.set('payoneer', 'disabled');
    providers.set('upwork', 'unhealthy');
    const { quotes, rejected } = rank('upwork', '1600.00', 'bank_fcy', providers);
    expect(quotes).toEqual([]);
    expect(rejected).toEqual(
      expect.objectContaining({
        'upwork-payoneer-usd': 'provider_disabled',
        'fiverr-payoneer-usd': 'provider_disabled',
        'upwork-wire-usd': 'provider_unhealthy',
        'upwork-local-bank-pkr': 'provider_unhealthy',
        'wise-swift-usd': 'route_inactive',
        'direct-swift-usd': 'platform_not_served',
      }),
    );
  });

  it('treats a provider it was not told about as disabled', () => {
    const { rejected } = rank('upwork', '1600.00', 'bank_fcy', new Map());
    expect(rejected['upwork-payoneer-usd']).toBe('provider_disabled');
  });

  it('uses only the documented rejection reasons and refuses a gross that is not whole cents', () => {
    for (const platform of ['upwork', 'fiverr', 'payoneer', 'toptal', 'deel', 'guru', 'stripe']) {
      for (const gross of ['0.01', '9.99', '1250.00', '30000.00', '1000000.00']) {
        for (const kind of ['bank_fcy', 'fintech_usd']) {
          for (const reason of Object.values(rank(platform, gross, kind).rejected)) {
            expect(REJECTION_REASONS).toContain(reason);
          }
        }
      }
    }
    expect(() => rank('upwork', '10.001')).toThrow(RangeError);
    expect(() => rank('upwork', '0.00')).toThrow(RangeError);
  });
});
