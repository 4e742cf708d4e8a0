import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { FieldError, Problems } from '../common/problem';
import { MoneyDecimal } from '../money/money';
import { CatalogRoute } from './catalog';
import { RouteDto, UpdateRouteDto } from './dto/route.dto';

export interface CatalogSnapshot {
  /** `routing_catalog_state.version` when this snapshot was read. */
  version: string;
  routes: CatalogRoute[];
  /** Every provider of the catalog and whether ops have it enabled. */
  providers: ReadonlyMap<string, boolean>;
  providerIds: readonly string[];
}

interface FeeRow {
  version: number;
  fixed_fee: string;
  percent_fee: string;
  percent_min: string | null;
  percent_max: string | null;
  fx_spread_bps: number;
  intermediary_fee: string;
  min_amount: string;
  max_amount: string;
  eta_hours: number;
  valid_from: Date;
}

interface RouteRow extends FeeRow {
  id: string;
  provider_id: string;
  rail: string;
  platforms: string[];
  account_kinds: string[];
  delivers_currency: string;
  active: boolean;
  confidence: string;
}

const ROUTES_WITH_CURRENT_FEES = `
  SELECT r.id, r.provider_id, r.rail, r.platforms, r.account_kinds, r.delivers_currency, r.active, r.confidence,
         f.version, f.fixed_fee, f.percent_fee, f.percent_min, f.percent_max, f.fx_spread_bps, f.intermediary_fee,
         f.min_amount, f.max_amount, f.eta_hours, f.valid_from
  FROM routes r
  JOIN LATERAL (
    SELECT * FROM route_fee_versions v WHERE v.route_id = r.id ORDER BY v.version DESC LIMIT 1
  ) f ON true`;

const FEE_FIELDS = [
  'fixedFee',
  'percentFee',
  'percentMin',
  'percentMax',
  'fxSpreadBps',
  'intermediaryFee',
  'minAmount',
  'maxAmount',
  'etaHours',
] as const;

const decimalOrNull = (value: string | null) => (value === null ? null : new MoneyDecimal(value));

/** The route's identity and reach, named alike in the catalog the ranking reads and in the ops view. */
function routeBasics(row: RouteRow) {
  return {
    id: row.id,
    provider: row.provider_id,
    rail: row.rail,
    platforms: row.platforms,
    accountKinds: row.account_kinds,
    deliversCurrency: row.delivers_currency,
  };
}

function toCatalogRoute(row: RouteRow): CatalogRoute {
  return {
    ...routeBasics(row),
    active: row.active,
    fees: {
      version: row.version,
      fixedFee: new MoneyDecimal(row.fixed_fee),
      percentFee: new MoneyDecimal(row.percent_fee),
      percentMin: decimalOrNull(row.percent_min),
      percentMax: decimalOrNull(row.percent_max),
      fxSpreadBps: row.fx_spread_bps,
      intermediaryFee: new MoneyDecimal(row.intermediary_fee),
      minAmount: new MoneyDecimal(row.min_amount),
      maxAmount: new MoneyDecimal(row.max_amount),
      etaHours: row.eta_hours,
    },
  };
}

function toRouteDto(row: RouteRow): RouteDto {
  return {
    ...routeBasics(row),
    fixedFee: row.fixed_fee,
    percentFee: row.percent_fee,
    percentMin: row.percent_min,
    percentMax: row.percent_max,
    fxSpreadBps: row.fx_spread_bps,
    intermediaryFee: row.intermediary_fee,
    minAmount: row.min_amount,
    maxAmount: row.max_amount,
    etaHours: row.eta_hours,
    active: row.active,
    confidence: row.confidence,
    feeVersion: row.version,
    feesValidFrom: row.valid_from.toISOString(),
  };
}

/**
 * Checks a fee schedule as a whole (after a change is merged into the current one). A pair out of order is
 * named by the field of the pair the change set (the lower one when it set both or neither).
 */
function scheduleErrors(
  fees: Record<(typeof FEE_FIELDS)[number], string | number | null>,
  changed: (field: string) => boolean,
): FieldError[] {
  const errors: FieldError[] = [];
  const dec = (value: string | number | null) => new MoneyDecimal(String(value));
  const outOfOrder = (low: string, high: string) => ({
    field: changed(high) && !changed(low) ? high : low,
    message: `${low} must not be above ${high}`,
  });
  if (dec(fees.minAmount).greaterThan(dec(fees.maxAmount))) {
    errors.push(outOfOrder('minAmount', 'maxAmount'));
  }
  if (
    fees.percentMin !== null &&
    fees.percentMax !== null &&
    dec(fees.percentMin).greaterThan(fees.percentMax)
  ) {
    errors.push(outOfOrder('percentMin', 'percentMax'));
  }
  if (!dec(fees.percentFee).plus(dec(fees.fxSpreadBps).dividedBy(100)).lessThan(100)) {
    errors.push({
      field: 'percentFee',
      message: 'percentFee plus fxSpreadBps must stay below 100 % of gross',
    });
  }
  return errors;
}

/**
 * The route catalog in Postgres, with an in-memory copy for the quote path.
 *
 * Several api replicas serve quotes, and any one of them may take an ops change. Each change bumps
 * `routing_catalog_state.version` in its own transaction; a replica re-reads that one row when its copy is
 * older than the caller allows, and reloads the catalog only when the number moved. The quote endpoint
 * allows one second, so a change reaches every replica within a second while the hot path stays off
 * Postgres; payout decisions allow zero, so a payout is never routed on a catalog older than its job.
 * The replica that made the change drops its copy at once.
 */
@Injectable()
export class CatalogService {
  private readonly logger = new Logger(CatalogService.name);
  private cached: { snapshot: CatalogSnapshot; checkedAt: number } | null = null;
  private shared: Promise<CatalogSnapshot> | null = null;
  /** Bumped by every local change, so a read begun before it cannot be cached as fresh. */
  private generation = 0;

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  /** The catalog as of at most `maxAgeMs` ago (0: checked against Postgres now). */
  async snapshot(maxAgeMs: number): Promise<CatalogSnapshot> {
    if (maxAgeMs <= 0) return this.refresh();
    const cached = this.cached;
    if (cached && this.clock.monotonicMs() - cached.checkedAt < maxAgeMs) return cached.snapshot;
    if (!this.shared) {
      const shared: Promise<CatalogSnapshot> = this.refresh().finally(() => {
        if (this.shared === shared) this.shared = null;
      });
      this.shared = shared;
    }
    return this.shared;
  }

  /** A read already under way may have seen the catalog before the change: callers from now on do not join it. */
  invalidate(): void {
    this.generation += 1;
    this.cached = null;
    this.shared = null;
  }

  async listRoutes(): Promise<RouteDto[]> {
    const rows: RouteRow[] = await this.db.query(`${ROUTES_WITH_CURRENT_FEES} ORDER BY r.id`);
    return rows.map(toRouteDto);
  }

  /** Fee fields add a fee version valid from now; `active` switches the route. Both in one transaction. */
  async updateRoute(routeId: string, change: UpdateRouteDto): Promise<RouteDto> {
    const given = FEE_FIELDS.filter((field) => change[field] !== undefined);
    if (given.length === 0 && change.active === undefined) {
      throw Problems.validation([{ field: 'body', message: 'name at least one field to change' }]);
    }
    const updated = await this.db.transaction(async (tx) => {
      const locked = await tx.query(`SELECT id FROM routes WHERE id = $1 FOR UPDATE`, [routeId]);
      if (locked.length === 0) throw Problems.notFound('Route');
      const [current]: RouteRow[] = await tx.query(`${ROUTES_WITH_CURRENT_FEES} WHERE r.id = $1`, [routeId]);
      if (given.length > 0) await this.addFeeVersion(tx, current, change);
      if (change.active !== undefined) {
        await tx.query(`UPDATE routes SET active = $2, updated_at = now() WHERE id = $1`, [
          routeId,
          change.active,
        ]);
      }
      await bumpCatalogVersion(tx);
      const [row]: RouteRow[] = await tx.query(`${ROUTES_WITH_CURRENT_FEES} WHERE r.id = $1`, [routeId]);
      return toRouteDto(row);
    });
    this.invalidate();
    const fields = change.active === undefined ? given : [...given, 'active'];
    this.logger.log(
      `Route ${routeId} changed by ops (${fields.join(', ')}); ` +
        `fee version ${updated.feeVersion} applies from ${updated.feesValidFrom}.`,
    );
    return updated;
  }

  /** Switches a provider on or off; answers null when there is no such provider. */
  async setProviderEnabled(
    providerId: string,
    enabled: boolean,
  ): Promise<{ id: string; name: string } | null> {
    const row = await this.db.transaction(async (tx) => {
      // An UPDATE answers [rows, count] through TypeORM's pg driver.
      const [[provider]]: [{ id: string; name: string }[]] = await tx.query(
        `UPDATE providers SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING id, name`,
        [providerId, enabled],
      );
      if (provider) await bumpCatalogVersion(tx);
      return provider;
    });
    this.invalidate();
    return row ?? null;
  }

  /** Straight from Postgres: the pipeline asks right before it sends. Unknown providers read as disabled. */
  async isProviderEnabled(providerId: string): Promise<boolean> {
    const rows: { enabled: boolean }[] = await this.db.query(`SELECT enabled FROM providers WHERE id = $1`, [
      providerId,
    ]);
    return rows[0]?.enabled === true;
  }

  async listProviders(): Promise<{ id: string; name: string; enabled: boolean }[]> {
    return this.db.query(`SELECT id, name, enabled FROM providers ORDER BY id`);
  }

  private async addFeeVersion(tx: EntityManager, current: RouteRow, change: UpdateRouteDto): Promise<void> {
    const merged = {
      fixedFee: change.fixedFee ?? current.fixed_fee,
      percentFee: change.percentFee ?? current.percent_fee,
      percentMin: change.percentMin === undefined ? current.percent_min : change.percentMin,
      percentMax: change.percentMax === undefined ? current.percent_max : change.percentMax,
      fxSpreadBps: change.fxSpreadBps ?? current.fx_spread_bps,
      intermediaryFee: change.intermediaryFee ?? current.intermediary_fee,
      minAmount: change.minAmount ?? current.min_amount,
      maxAmount: change.maxAmount ?? current.max_amount,
      etaHours: change.etaHours ?? current.eta_hours,
    };
    const errors = scheduleErrors(merged, (field) => change[field as keyof typeof change] !== undefined);
    if (errors.length > 0) {
      throw Problems.unprocessable(errors, 'The fee schedule would be inconsistent with this change.');
    }
    // The schedule as it stands: no new version, so the history shows only real changes.
    if (sameSchedule(current, merged)) return;
    await tx.query(
      `INSERT INTO route_fee_versions (route_id, version, fixed_fee, percent_fee, percent_min, percent_max,
         fx_spread_bps, intermediary_fee, min_amount, max_amount, eta_hours, valid_from)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        current.id,
        current.version + 1,
        merged.fixedFee,
        merged.percentFee,
        merged.percentMin,
        merged.percentMax,
        merged.fxSpreadBps,
        merged.intermediaryFee,
        merged.minAmount,
        merged.maxAmount,
        merged.etaHours,
        this.clock.now(),
      ],
    );
  }

  private async refresh(): Promise<CatalogSnapshot> {
    const generation = this.generation;
    const startedAt = this.clock.monotonicMs();
    // The version is read before the rows, so a change committed in between can only make the copy look
    // older than it is (and be reloaded), never newer.
    const [{ version }]: { version: string }[] = await this.db.query(
      `SELECT version FROM routing_catalog_state`,
    );
    let snapshot = this.cached?.snapshot;
    if (snapshot?.version !== version) {
      const [rows, providers]: [RouteRow[], { id: string; enabled: boolean }[]] = await Promise.all([
        this.db.query(`${ROUTES_WITH_CURRENT_FEES} ORDER BY r.id`),
        this.db.query(`SELECT id, enabled FROM providers`),
      ]);
      snapshot = {
        version,
        routes: rows.map(toCatalogRoute),
        providers: new Map(providers.map((p) => [p.id, p.enabled])),
        providerIds: providers.map((p) => p.id),
      };
    }
    if (generation === this.generation) this.cached = { snapshot, checkedAt: startedAt };
    return snapshot;
  }
}

async function bumpCatalogVersion(tx: EntityManager): Promise<void> {
  await tx.query(`UPDATE routing_catalog_state SET version = version + 1`);
}

/** Whether a merged change leaves every field of the route's current schedule as it is (amounts compared as numbers). */
function sameSchedule(
  current: RouteRow,
  merged: {
    fixedFee: string;
    percentFee: string;
    percentMin: string | null;
    percentMax: string | null;
    fxSpreadBps: number;
    intermediaryFee: string;
    minAmount: string;
    maxAmount: string;
    etaHours: number;
  },
): boolean {
  const sameAmount = (a: string | null, b: string | null) =>
    a === null || b === null ? a === b : new MoneyDecimal(a).equals(b);
  return (
    sameAmount(current.fixed_fee, merged.fixedFee) &&
    sameAmount(current.percent_fee, merged.percentFee) &&
    sameAmount(current.percent_min, merged.percentMin) &&
    sameAmount(current.percent_max, merged.percentMax) &&
    Number(current.fx_spread_bps) === merged.fxSpreadBps &&
    sameAmount(current.intermediary_fee, merged.intermediaryFee) &&
    sameAmount(current.min_amount, merged.minAmount) &&
    sameAmount(current.max_amount, merged.maxAmount) &&
    Number(current.eta_hours) === merged.etaHours
  );
}
