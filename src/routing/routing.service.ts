import { Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import { Clock } from '../common/clock';
import type { AccountKind } from '../freelancers/dto/freelancer.dto';
import { formatAmount, parseAmount } from '../money/money';
import { breakerAllowsTraffic } from './breaker';
import { CatalogService } from './catalog.service';
import { QuoteRequestDto, QuoteResponseDto } from './dto/quote.dto';
import { ProviderHealthService } from './provider-health.service';
import { ProviderAvailability, quoteView, QuoteView, rankRoutes, RejectionReason } from './ranking';

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

@Injectable()
export class RoutingService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly health: ProviderHealthService,
    private readonly clock: Clock,
  ) {}

  /** The route decision for a payout, on the current fees, provider switches and breaker states. */
  async decide(input: RoutingInput): Promise<RoutingDecision> {
    const { version, chosen, quotes, rejected } = await this.rank(input, 0);
    return {
      chosen,
      quotes,
      rejected,
      decidedAt: this.clock.now().toISOString(),
      input: { platform: input.platform, gross: formatAmount(input.gross), accountKind: input.accountKind },
      catalogVersion: version,
    };
  }

  /**
   * Whether a decision that chose no route would choose one were every open circuit breaker closed: then only
   * provider health stands in the way, which passes, and the payout should wait rather than fail.
   */
  async routableOnceHealthy(decision: RoutingDecision): Promise<boolean> {
    const waiting = new Set(
      decision.rejected.filter((r) => r.reason === 'provider_unhealthy').map((r) => r.routeId),
    );
    if (!waiting.size) return false;
    const catalog = await this.catalog.snapshot(0);
    const routes = catalog.routes.filter((r) => waiting.has(r.id));
    const available = new Map(routes.map((r) => [r.provider, 'available' as ProviderAvailability]));
    const input = decision.input;
    return (
      rankRoutes(routes, available, {
        platform: input.platform,
        gross: parseAmount(input.gross),
        accountKind: input.accountKind,
      }).quotes.length > 0
    );
  }

  /** POST /v1/quotes: the same ranking on a catalog at most QUOTE_STALENESS_MS old. */
  async quote(request: QuoteRequestDto): Promise<QuoteResponseDto> {
    const { chosen, quotes, rejected } = await this.rank(
      { platform: request.platform, gross: parseAmount(request.amount), accountKind: request.accountKind },
      QUOTE_STALENESS_MS,
    );
    return { chosen, quotes, rejected };
  }

  private async rank(input: RoutingInput, maxAgeMs: number) {
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
    };
  }
}
