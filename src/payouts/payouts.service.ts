import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { pageClause, toPage } from '../common/pagination';
import { Problems } from '../common/problem';
import { formatAmount, MoneyDecimal } from '../money/money';
import type { QuoteView, RoutingDecision } from '../routing/routing.service';
import { OpsPayoutPageDto, OpsPayoutQuery, PayoutDto, PayoutPageDto, PayoutQuery } from './dto/payout.dto';
import { PayoutStatus } from './payout-status';

interface PayoutRow {
  id: string;
  partner_id: string;
  connection_id: string;
  platform: string;
  platform_payout_id: string;
  freelancer_ref: string;
  freelancer_id: string | null;
  gross: string;
  currency: string;
  status: PayoutStatus;
  decision: RoutingDecision | null;
  fees: QuoteView['fees'] | null;
  net: string | null;
  invoice_id: string | null;
  failure_reason: string | null;
  created_at: Date;
}

interface AttemptRow {
  payout_id: string;
  seq: number;
  route_id: string;
  status: string;
  error: string | null;
  quote: QuoteView;
  updated_at: Date;
}

interface EarlierDecisionRow {
  payout_id: string;
  account_id: string | null;
  decision: RoutingDecision;
  replaced_at: Date;
}

interface TimelineRow {
  payout_id: string;
  status: string;
  detail: string | null;
  at: Date;
}

/** The statuses of payouts that need a person, which ops may list across partners. */
const NEEDING_OPS: readonly PayoutStatus[] = ['failed', 'unmatched', 'returned'];

@Injectable()
export class PayoutsService {
  constructor(private readonly db: DataSource) {}

  async get(partnerId: string | null, payoutId: string): Promise<PayoutDto> {
    const rows: PayoutRow[] = await this.db.query(
      `SELECT * FROM payouts WHERE id = $1 AND ($2::uuid IS NULL OR partner_id = $2)`,
      [payoutId, partnerId],
    );
    if (!rows.length) throw Problems.notFound('Payout');
    const [dto] = await this.present(rows);
    return dto;
  }

  async list(partnerId: string, query: PayoutQuery): Promise<PayoutPageDto> {
    const { data, nextCursor } = await this.page(['partner_id = $1'], [partnerId], query);
    return { data, nextCursor };
  }

  /**
   * Ops: the payouts that need a person across partners (failed, which a retry may fix; unmatched; returned), or
   * one partner's payouts in any status. Each names its partner.
   */
  async listForOps(query: OpsPayoutQuery): Promise<OpsPayoutPageDto> {
    const params: unknown[] = [];
    const conditions: string[] = [];
    if (query.partnerId) {
      params.push(query.partnerId);
      conditions.push(`partner_id = $${params.length}`);
    } else if (!query.status || !NEEDING_OPS.includes(query.status)) {
      // Every partner's payouts in any status would be a scan of the whole table on every page.
      throw Problems.validation([
        {
          field: 'status',
          message: `status must be one of ${NEEDING_OPS.join(', ')} unless partnerId is given`,
        },
      ]);
    }
    const page = await this.page(conditions, params, query);
    const partners = new Map(page.rows.map((row) => [row.id, row.partner_id]));
    return {
      data: page.data.map((payout) => ({ ...payout, partnerId: partners.get(payout.id)! })),
      nextCursor: page.nextCursor,
    };
  }

  private async page(
    conditions: string[],
    params: unknown[],
    query: PayoutQuery,
  ): Promise<PayoutPageDto & { rows: PayoutRow[] }> {
    let where = conditions.length ? conditions.join(' AND ') : 'true';
    if (query.status) {
      params.push(query.status);
      where += ` AND status = $${params.length}`;
    }
    if (query.freelancerId) {
      params.push(query.freelancerId);
      where += ` AND freelancer_id = $${params.length}`;
    }
    const rows: PayoutRow[] = await this.db.query(
      `SELECT * FROM payouts WHERE ${where}${pageClause(query, params)}`,
      params,
    );
    const limit = query.limit ?? 20;
    const presented = await this.present(rows.slice(0, limit));
    const byId = new Map(presented.map((p) => [p.id, p]));
    return { ...toPage(rows, query, (row) => byId.get(row.id)!), rows };
  }

  private async present(rows: PayoutRow[]): Promise<PayoutDto[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const attempts: AttemptRow[] = await this.db.query(
      `SELECT payout_id, seq, route_id, status, error, quote, updated_at FROM payout_attempts
       WHERE payout_id = ANY($1::uuid[]) ORDER BY payout_id, seq`,
      [ids],
    );
    const timeline: TimelineRow[] = await this.db.query(
      `SELECT payout_id, status, detail, at FROM payout_timeline WHERE payout_id = ANY($1::uuid[]) ORDER BY id`,
      [ids],
    );
    const earlier: EarlierDecisionRow[] = await this.db.query(
      `SELECT payout_id, account_id, decision, replaced_at FROM payout_earlier_decisions
       WHERE payout_id = ANY($1::uuid[]) ORDER BY id`,
      [ids],
    );
    return rows.map((row) => {
      const own = attempts.filter((a) => a.payout_id === row.id);
      // The route carrying the money: the latest attempt's, while one is in flight or once it settled. A failed
      // payout, or one waiting to be routed (again, after an ops retry), has none.
      const carried = !['received', 'unmatched', 'failed'].includes(row.status);
      const route = carried && own.length ? own[own.length - 1].quote : null;
      const inFlight = row.status === 'routed' || row.status === 'sending';
      return {
        id: row.id,
        connectionId: row.connection_id,
        platform: row.platform,
        platformPayoutId: row.platform_payout_id,
        freelancerRef: row.freelancer_ref,
        freelancerId: row.freelancer_id,
        gross: formatAmount(new MoneyDecimal(row.gross)),
        currency: row.currency,
        status: row.status,
        route,
        candidates: row.decision?.quotes ?? [],
        rejected: row.decision?.rejected ?? [],
        standby: row.decision?.standby ?? [],
        earlierDecisions: earlier
          .filter((e) => e.payout_id === row.id)
          .map((e) => ({
            decidedAt: e.decision.decidedAt,
            replacedAt: e.replaced_at.toISOString(),
            accountId: e.account_id,
            accountKind: e.decision.input.accountKind,
            chosen: e.decision.chosen,
            candidates: e.decision.quotes,
            rejected: e.decision.rejected,
            standby: e.decision.standby ?? [],
          })),
        attempts: own.map((a) => ({
          routeId: a.route_id,
          status: a.status,
          ...(a.error ? { error: a.error } : {}),
          at: a.updated_at.toISOString(),
        })),
        // Charged figures once settled; while a route is in flight, the figures it was quoted; otherwise (failed,
        // unmatched, not yet routed) no fee was charged and nothing was netted: null, as payout.failed says.
        fees: row.fees ?? (inFlight ? route?.fees : null) ?? null,
        net:
          row.net !== null
            ? formatAmount(new MoneyDecimal(row.net))
            : ((inFlight ? route?.net : null) ?? null),
        invoiceId: row.invoice_id,
        timeline: timeline
          .filter((t) => t.payout_id === row.id)
          .map((t) => ({
            status: t.status,
            at: t.at.toISOString(),
            ...(t.detail ? { detail: t.detail } : {}),
          })),
        failureReason: row.failure_reason,
        createdAt: row.created_at.toISOString(),
      };
    });
  }
}
