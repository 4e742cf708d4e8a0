import fc from 'fast-check';
import Decimal from 'decimal.js';
import { MoneyDecimal } from '../money/money';
import { CatalogRoute, RouteFees } from './catalog';
import { computeFees } from './fees';
import {
  compareQuoteViews,
  ProviderAvailability,
  quoteView,
  rankRoutes,
  REJECTION_REASONS,
  RejectionReason,
} from './ranking';

const PROVIDERS = ['p1', 'p2', 'p3'];
const PLATFORMS = ['upwork', 'deel'];
const KINDS = ['bank_fcy', 'fintech_usd'];

/** Whole cents are generated as bigints and read through their decimal string: money never passes through a number. */
const fromCents = (c: bigint) => new MoneyDecimal(c.toString()).dividedBy(100);
const cents = (min: bigint, max: bigint) => fc.bigInt({ min, max }).map(fromCents);
const toCents = (amount: Decimal) => BigInt(amount.times(100).toFixed(0));

/** A few common values or anything in the range, so ties and edge cases come up often. */
const oneOfOrAny = <T>(common: T[], any: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constantFrom(...common), weight: 3 }, { arbitrary: any, weight: 1 });
const often = (common: number[], min: number, max: number) => oneOfOrAny(common, fc.integer({ min, max }));
const centsOften = (common: bigint[], min: bigint, max: bigint) =>
  oneOfOrAny(common, fc.bigInt({ min, max })).map(fromCents);

/** A fee schedule as ops could enter it: whole cents, percent in hundredths, whole basis points, under 100 %. */
const feesArb = fc
  .record({
    fixedFee: centsOften([0n, 200n, 3000n], 0n, 5_000n),
    percentHundredths: often([0, 100, 300], 0, 7_999),
    fxSpreadBps: often([0], 0, 2_000),
    floorCap: fc.tuple(
      fc.option(centsOften([100n], 0n, 5_000n)),
      fc.option(centsOften([2500n], 0n, 50_000n)),
    ),
    intermediaryFee: centsOften([0n, 2000n], 0n, 5_000n),
    minAmount: centsOften([1n, 1000n], 1n, 200_000n),
    maxAmount: centsOften([100_000_000n, 2_500_000n], 1n, 100_000_000n),
    etaHours: often([24, 96], 1, 200),
  })
  .map(({ percentHundredths, floorCap: [floor, cap], minAmount, maxAmount, ...rest }) => ({
    ...rest,
    version: 1,
    percentFee: new MoneyDecimal(percentHundredths).dividedBy(100),
    percentMin: floor !== null && cap !== null && floor.greaterThan(cap) ? cap : floor,
    percentMax: floor !== null && cap !== null && floor.greaterThan(cap) ? floor : cap,
    minAmount: MoneyDecimal.min(minAmount, maxAmount),
    maxAmount: MoneyDecimal.max(minAmount, maxAmount),
  }));

const routeArb = (id: string): fc.Arbitrary<CatalogRoute> =>
  fc.record({
    id: fc.constant(id),
    provider: fc.constantFrom(...PROVIDERS),
    rail: fc.constantFrom('swift', 'payoneer_withdrawal', 'usd_wallet'),
    platforms: fc.subarray(PLATFORMS, { minLength: 1 }),
    accountKinds: fc.subarray(KINDS, { minLength: 1 }),
    deliversCurrency: fc.constantFrom('USD', 'USD', 'USD', 'USD', 'USD', 'PKR'),
    active: fc.constantFrom(true, true, true, true, true, false),
    fees: feesArb,
  });

const catalogArb = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), { minLength: 0, maxLength: 30, size: 'max' })
  .chain((ids) => fc.tuple(...ids.map(routeArb)));

const availabilityArb = fc
  .tuple(
    ...PROVIDERS.map(() =>
      fc.constantFrom<ProviderAvailability>(
        'available',
        'available',
        'available',
        'available',
        'disabled',
        'unhealthy',
      ),
    ),
  )
  .map((states) => new Map(PROVIDERS.map((p, i) => [p, states[i]])));

/** The lowest whole-cent gross within the limits that leaves a positive net (net never falls as gross grows), or null. */
function lowestEligibleCents(fees: RouteFees): bigint | null {
  const paysOut = (c: bigint) => computeFees(fees, fromCents(c)).net.greaterThan(0);
  let [low, high] = [toCents(fees.minAmount), toCents(fees.maxAmount)];
  if (!paysOut(high)) return null;
  while (low < high) {
    const middle = (low + high) / 2n;
    if (paysOut(middle)) high = middle;
    else low = middle + 1n;
  }
  return low;
}

/** A gross that the schedule accepts: within its limits, above its fees. */
const eligibleGross = (fees: RouteFees) => cents(lowestEligibleCents(fees)!, toCents(fees.maxAmount));

const grossArb = fc.oneof(cents(1n, 100_000n), cents(1n, 100_000_000n));

const inputArb = fc.record({
  platform: fc.constantFrom(...PLATFORMS),
  gross: grossArb,
  accountKind: fc.constantFrom(...KINDS),
});

/** Every reason that applies to a route, worked out independently of rankRoutes. */
function reasonsFor(
  route: CatalogRoute,
  providers: Map<string, ProviderAvailability>,
  input: { platform: string; gross: Decimal; accountKind: string },
): RejectionReason[] {
  const applies: Record<RejectionReason, boolean> = {
    route_inactive: !route.active,
    provider_disabled: providers.get(route.provider) === 'disabled',
    provider_unhealthy: providers.get(route.provider) === 'unhealthy',
    platform_not_served: !route.platforms.includes(input.platform),
    account_kind_not_served: !route.accountKinds.includes(input.accountKind),
    pays_pkr_not_usd: route.deliversCurrency !== 'USD',
    below_minimum: input.gross.lt(route.fees.minAmount),
    above_maximum: input.gross.gt(route.fees.maxAmount),
    fees_exceed_amount: computeFees(route.fees, input.gross).net.lte(0),
  };
  return REJECTION_REASONS.filter((reason) => applies[reason]);
}

const view = (ranking: ReturnType<typeof rankRoutes>) => ({
  quotes: ranking.quotes.map(quoteView),
  rejected: ranking.rejected,
});

describe('rankRoutes (properties)', () => {
  it('puts every route in exactly one of quotes and rejected, with the first reason that applies', () => {
    fc.assert(
      fc.property(catalogArb, availabilityArb, inputArb, (routes, providers, input) => {
        const ranking = rankRoutes(routes, providers, input);
        const seen = [...ranking.quotes.map((q) => q.route.id), ...ranking.rejected.map((r) => r.routeId)];
        expect([...seen].sort()).toEqual(routes.map((r) => r.id).sort());
        for (const rejection of ranking.rejected) {
          const route = routes.find((r) => r.id === rejection.routeId)!;
          expect(rejection.reason).toBe(reasonsFor(route, providers, input)[0]);
        }
        for (const quote of ranking.quotes) expect(reasonsFor(quote.route, providers, input)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps total + net = gross exactly, with whole-cent totals and a positive net', () => {
    fc.assert(
      fc.property(catalogArb, availabilityArb, inputArb, (routes, providers, input) => {
        for (const { fees } of rankRoutes(routes, providers, input).quotes) {
          expect(fees.total.plus(fees.net).equals(input.gross)).toBe(true);
          expect(fees.total.decimalPlaces()).toBeLessThanOrEqual(2);
          expect(fees.net.greaterThan(0)).toBe(true);
          for (const part of [fees.fixed, fees.percent, fees.fx, fees.intermediary]) {
            expect(part.decimalPlaces()).toBeLessThanOrEqual(6);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('chooses the route with the highest net of all eligible ones, ties to the faster, then the lower id', () => {
    fc.assert(
      fc.property(catalogArb, availabilityArb, inputArb, (routes, providers, input) => {
        const { quotes } = rankRoutes(routes, providers, input);
        const eligible = routes.filter((r) => reasonsFor(r, providers, input).length === 0);
        expect(quotes).toHaveLength(eligible.length);
        if (eligible.length === 0) return;
        const best = eligible
          .map((r) => ({ r, net: computeFees(r.fees, input.gross).net }))
          .reduce((a, b) => (b.net.gt(a.net) ? b : a));
        expect(quotes[0].fees.net.equals(best.net)).toBe(true);
        for (let i = 1; i < quotes.length; i++) {
          const [a, b] = [quotes[i - 1], quotes[i]];
          const order = a.fees.net.comparedTo(b.fees.net);
          expect(order).toBeGreaterThanOrEqual(0);
          if (order === 0) {
            expect(a.route.fees.etaHours).toBeLessThanOrEqual(b.route.fees.etaHours);
            if (a.route.fees.etaHours === b.route.fees.etaHours) expect(a.route.id < b.route.id).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ranks stored quotes, merged from two lists in any order, exactly as the ranking did', () => {
    fc.assert(
      fc.property(
        catalogArb,
        availabilityArb,
        inputArb,
        fc.infiniteStream(fc.boolean()),
        (routes, providers, input, picks) => {
          const ranked = rankRoutes(routes, providers, input).quotes.map(quoteView);
          // Split the ranked list in two at random, as a decision's quotes and standby, and merge them back.
          const [one, two] = [[] as typeof ranked, [] as typeof ranked];
          for (const q of ranked) (picks.next().value ? one : two).push(q);
          expect([...two.reverse(), ...one].sort(compareQuoteViews)).toEqual(ranked);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('breaks ties in net by the lower etaHours, then the lower route id', () => {
    // Clones of one route differ only in id and etaHours, so their nets tie. The gross lies within the route's
    // limits and pays more than its fees, so every clone is eligible and the order is always checked.
    const templateArb = routeArb('template')
      .filter((template) => lowestEligibleCents(template.fees) !== null)
      .chain((template) => fc.tuple(fc.constant(template), eligibleGross(template.fees)));
    const clonesArb = fc.tuple(
      templateArb,
      fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 2, maxLength: 8 }),
      fc.array(fc.constantFrom(24, 48, 96), { minLength: 8, maxLength: 8 }),
    );
    fc.assert(
      fc.property(clonesArb, ([[template, gross], ids, etas]) => {
        const route = { ...template, active: true, deliversCurrency: 'USD' };
        const routes = ids.map((id, i) => ({ ...route, id, fees: { ...route.fees, etaHours: etas[i] } }));
        const input = { platform: route.platforms[0], gross, accountKind: route.accountKinds[0] };
        const ranked = rankRoutes(routes, new Map([[route.provider, 'available']]), input).quotes;
        expect(ranked).toHaveLength(routes.length);
        const expected = [...routes]
          .sort((a, b) => a.fees.etaHours - b.fees.etaHours || (a.id < b.id ? -1 : 1))
          .map((r) => r.id);
        expect(ranked.map((q) => q.route.id)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('never gives a smaller net for a larger gross on one route', () => {
    fc.assert(
      fc.property(feesArb, grossArb, cents(1n, 10_000_000n), (fees, gross, more) => {
        const smaller = computeFees(fees, gross).net;
        const larger = computeFees(fees, gross.plus(more)).net;
        expect(larger.greaterThanOrEqualTo(smaller)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('gives the same result whatever the order of the catalog', () => {
    fc.assert(
      fc.property(
        catalogArb.chain((routes) =>
          fc.tuple(fc.constant(routes), fc.shuffledSubarray(routes, { minLength: routes.length })),
        ),
        availabilityArb,
        inputArb,
        ([routes, shuffled], providers, input) => {
          expect(view(rankRoutes(shuffled, providers, input))).toEqual(
            view(rankRoutes(routes, providers, input)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
