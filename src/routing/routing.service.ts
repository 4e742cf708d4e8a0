import { Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import { Clock } from '../common/clock';
import type { AccountKind } from '../freelancers/dto/freelancer.dto';
import { formatAmount, parseAmount } from '../money/money';
import { breakerAllowsTraffic } from './breaker';
import { CatalogRoute } from './catalog';
import { CatalogService } from './catalog.service';
import { QuoteRequestDto, QuoteResponseDto } from './dto/quote.dto';
import { ProviderHealthService } from './provider-health.service';
import { ProviderAvailability, quoteView, QuoteView, Ranking, rankRoutes, RejectionReason } from './ranking';

export type { QuoteView } from './ranking';

/** How old the catalog and breaker states behind a quote may be; see CatalogService for why one second. */
export const QUOTE_STALENESS_MS = 1000;

/**
 * Everything a payout's route choice rests on, self-contained: every candidate with its fee figures and
 * fee version, every rejection with its reason. Stored as-is with the payout, so later fee changes or
 * provider outages never rewrite why it went where it went.
 */
export interface RoutingDecision {
  chosen: string | null;
  quotes: QuoteView[];
  rejected: { routeId: string; reason: RejectionReason }[];
  /**
   * The rejected routes that only provider state held back (an open breaker, a provider ops disabled), quoted on
   * the same catalog as if their providers were back, best first. A failover may take one once its provider takes
   * traffic again, and a payout no route can carry now waits for them. Absent from decisions stored before it.
   */
  standby?: QuoteView[];
  /** ISO time of the decision. */
  decidedAt: string;
  input: { platform: string; gross: string; accountKind: string };
  /** `routing_catalog_state.version` the decision was made on. */
  catalogVersion: string;
}

export interface RoutingInput {
  platform: string;
  gross: Decimal;
  accountKind: AccountKind;
}

/** What stands between a payout and every route that could carry it, when only provider state does. */
export type ProviderWait = 'breaker_open' | 'provider_disabled';

@Injectable()
export class RoutingService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly health: ProviderHealthService,
    private readonly clock: Clock,
  ) {}

  /** The route decision for a payout, on the current fees, provider switches and breaker states. */
  async decide(input: RoutingInput): Promise<RoutingDecision> {
    const { version, chosen, quotes, rejected, standby } = await this.rank(input, 0, true);
    return {
      chosen,
      quotes,
      rejected,
      standby,
      decidedAt: this.clock.now().toISOString(),
      input: { platform: input.platform, gross: formatAmount(input.gross), accountKind: input.accountKind },
      catalogVersion: version,
    };
  }

  /**
   * What a decision that chose no route waits for, if anything: were every open circuit breaker closed and every
   * disabled provider enabled again, would a route carry it (its standby)? Then only provider state stands in the
   * way, which passes, and the payout should wait rather than fail: `breaker_open` when a route it waits for has
   * its breaker open, else `provider_disabled`. Null when no provider coming back would help.
   */
  waitsForProviders(decision: RoutingDecision): ProviderWait | null {
    const standby = new Set((decision.standby ?? []).map((q) => q.routeId));
    if (!standby.size) return null;
    return decision.rejected.some((r) => standby.has(r.routeId) && r.reason === 'provider_unhealthy')
      ? 'breaker_open'
      : 'provider_disabled';
  }

  /** POST /v1/quotes: the same ranking on a catalog at most QUOTE_STALENESS_MS old. */
  async quote(request: QuoteRequestDto): Promise<QuoteResponseDto> {
    const { chosen, quotes, rejected } = await this.rank(
      { platform: request.platform, gross: parseAmount(request.amount), accountKind: request.accountKind },
      QUOTE_STALENESS_MS,
    );
    return { chosen, quotes, rejected };
  }

  private async rank(input: RoutingInput, maxAgeMs: number, withStandby = false) {
    const catalog = await this.catalog.snapshot(maxAgeMs);
    const breakers = await this.health.breakers(catalog.providerIds, maxAgeMs);
    const availability = new Map<string, ProviderAvailability>();
    for (const [provider, enabled] of catalog.providers) {
      const record = breakers.get(provider);
      const healthy = !record || breakerAllowsTraffic(this.health.phase(record));
      availability.set(provider, !enabled ? 'disabled' : healthy ? 'available' : 'unhealthy');
    }
    const ranking = rankRoutes(catalog.routes, availability, input);
    const quotes = ranking.quotes.map(quoteView);
    return {
      version: catalog.version,
      chosen: quotes[0]?.routeId ?? null,
      quotes,
      rejected: ranking.rejected,
      standby: withStandby ? standbyQuotes(catalog.routes, ranking.rejected, input) : [],
    };
  }
}

/** The routes rejected only for provider state, ranked as if their providers were back (see `standby`). */
function standbyQuotes(
  routes: readonly CatalogRoute[],
  rejected: Ranking['rejected'],
  input: RoutingInput,
): QuoteView[] {
  const held = new Set(
    rejected
      .filter((r) => r.reason === 'provider_unhealthy' || r.reason === 'provider_disabled')
      .map((r) => r.routeId),
  );
  if (!held.size) return [];
  const heldRoutes = routes.filter((r) => held.has(r.id));
  const back = new Map(heldRoutes.map((r) => [r.provider, 'available' as ProviderAvailability]));
  return rankRoutes(heldRoutes, back, input).quotes.map(quoteView);
}
