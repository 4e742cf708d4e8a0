import Decimal from 'decimal.js';
import { formatAmount, formatExact, MoneyDecimal } from '../money/money';
import { CatalogRoute } from './catalog';
import { computeFees, FeeBreakdown } from './fees';

/**
 * Why a route was not quoted, in order of precedence: each rejected route carries the first reason that
 * applies. Whether the route can be used at all right now comes first (the route, then its provider), then
 * whether it fits this payout (platform, account, currency, amount limits), and last whether it would leave
 * anything once its fees are paid, the only reason that needs the fee math.
 */
export const REJECTION_REASONS = [
  'route_inactive',
  'provider_disabled',
  'provider_unhealthy',
  'platform_not_served',
  'account_kind_not_served',
  'pays_pkr_not_usd',
  'below_minimum',
  'above_maximum',
  'fees_exceed_amount',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** A provider as routing sees it: `unhealthy` while its circuit breaker refuses sends. */
export type ProviderAvailability = 'available' | 'disabled' | 'unhealthy';

export interface RoutingInput {
  platform: string;
  gross: Decimal;
  accountKind: string;
}

export interface RankedQuote {
  route: CatalogRoute;
  fees: FeeBreakdown;
}

export interface Ranking {
  /** Eligible routes, best first. */
  quotes: RankedQuote[];
  /** Every other route of the catalog, by route id. */
  rejected: { routeId: string; reason: RejectionReason }[];
}

/** The one currency a route must deliver: a route that pays PKR never lands dollars in a dollar account. */
const DOLLARS = 'USD';

function rejectionOf(
  route: CatalogRoute,
  provider: ProviderAvailability,
  input: RoutingInput,
): RejectionReason | null {
  if (!route.active) return 'route_inactive';
  if (provider === 'disabled') return 'provider_disabled';
  if (provider === 'unhealthy') return 'provider_unhealthy';
  if (!route.platforms.includes(input.platform)) return 'platform_not_served';
  if (!route.accountKinds.includes(input.accountKind)) return 'account_kind_not_served';
  if (route.deliversCurrency !== DOLLARS) return 'pays_pkr_not_usd';
  if (input.gross.lessThan(route.fees.minAmount)) return 'below_minimum';
  if (input.gross.greaterThan(route.fees.maxAmount)) return 'above_maximum';
  return null;
}

/** Contract section 6: highest net first; ties go to the lower etaHours, then the lower route id. */
export function compareQuotes(a: RankedQuote, b: RankedQuote): number {
  return compareRank(
    { net: a.fees.net, etaHours: a.route.fees.etaHours, routeId: a.route.id },
    { net: b.fees.net, etaHours: b.route.fees.etaHours, routeId: b.route.id },
  );
}

/** The same order over stored quotes, whose figures are strings: to merge lists ranked apart. */
export function compareQuoteViews(a: QuoteView, b: QuoteView): number {
  return compareRank(
    { net: new MoneyDecimal(a.net), etaHours: a.etaHours, routeId: a.routeId },
    { net: new MoneyDecimal(b.net), etaHours: b.etaHours, routeId: b.routeId },
  );
}

function compareRank(
  a: { net: Decimal; etaHours: number; routeId: string },
  b: { net: Decimal; etaHours: number; routeId: string },
): number {
  const byNet = b.net.comparedTo(a.net);
  if (byNet !== 0) return byNet;
  if (a.etaHours !== b.etaHours) return a.etaHours - b.etaHours;
  return compareIds(a.routeId, b.routeId);
}

/** Code-unit order, so the ranking is the same under every locale. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Quotes every route of the catalog for one payout. Each route ends in exactly one of `quotes` and
 * `rejected`, and neither list depends on the catalog's order. A provider missing from `providers` is
 * treated as disabled, so an unknown provider is never chosen.
 */
export function rankRoutes(
  routes: readonly CatalogRoute[],
  providers: ReadonlyMap<string, ProviderAvailability>,
  input: RoutingInput,
): Ranking {
  const gross = new MoneyDecimal(input.gross);
  if (!gross.isFinite() || gross.lessThanOrEqualTo(0) || !gross.equals(gross.toDecimalPlaces(2))) {
    throw new RangeError(`gross must be a positive amount of whole cents, got ${gross.toString()}`);
  }
  const at = { ...input, gross };
  const quotes: RankedQuote[] = [];
  const rejected: Ranking['rejected'] = [];
  for (const route of routes) {
    const reason = rejectionOf(route, providers.get(route.provider) ?? 'disabled', at);
    if (reason) {
      rejected.push({ routeId: route.id, reason });
      continue;
    }
    const fees = computeFees(route.fees, gross);
    if (fees.net.lessThanOrEqualTo(0)) rejected.push({ routeId: route.id, reason: 'fees_exceed_amount' });
    else quotes.push({ route, fees });
  }
  quotes.sort(compareQuotes);
  rejected.sort((a, b) => compareIds(a.routeId, b.routeId));
  return { quotes, rejected };
}

/** A quote as partners and the payout's stored decision show it: figures as exact decimal strings. */
export interface QuoteView {
  routeId: string;
  provider: string;
  rail: string;
  fees: { fixed: string; percent: string; fx: string; intermediary: string; total: string };
  net: string;
  etaHours: number;
  /** The fee version the figures were computed from; versions are never changed once written. */
  feeVersion: number;
}

export function quoteView({ route, fees }: RankedQuote): QuoteView {
  return {
    routeId: route.id,
    provider: route.provider,
    rail: route.rail,
    fees: {
      fixed: formatExact(fees.fixed),
      percent: formatExact(fees.percent),
      fx: formatExact(fees.fx),
      intermediary: formatExact(fees.intermediary),
      total: formatAmount(fees.total),
    },
    net: formatAmount(fees.net),
    etaHours: route.fees.etaHours,
    feeVersion: route.fees.version,
  };
}
