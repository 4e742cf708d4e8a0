import { Injectable, Logger } from '@nestjs/common';
import Decimal from 'decimal.js';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { Problems } from '../common/problem';
import { formatExact, parseDecimal } from '../money/money';
import { FxRateDto, PutFxRateDto } from './dto/fx-rate.dto';
import { PAKISTAN_UTC_OFFSET_HOURS, pakistanDate } from './pakistan-export';

export const USD_PKR = 'USD-PKR';

/** SQL: the latest rate of `pair` at or before `day` (SQL expressions), as one row of rate and as_of, or none. */
export function latestRateSql(pair: string, day: string): string {
  return `SELECT rate, as_of FROM fx_rates WHERE pair = ${pair} AND as_of <= ${day} ORDER BY as_of DESC LIMIT 1`;
}

/**
 * Serializes recording a rate with realizing proceeds: a realization holds it shared from before it reads the rate
 * until it commits, and recording a rate holds it alone. So a realization either sees the new rate, or is committed
 * before the rate's fill of invoices that have none looks for it; without it, one realized while a rate was being
 * recorded would keep no rate until the next one.
 */
export async function holdFxRates(tx: EntityManager, mode: 'shared' | 'exclusive'): Promise<void> {
  const lock = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await tx.query(`SELECT ${lock}(hashtextextended($1, 0))`, [`fx_rates:${USD_PKR}`]);
}

@Injectable()
export class FxRatesService {
  private readonly logger = new Logger(FxRatesService.name);

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * One rate per day: a second PUT for the same asOf replaces it (invoices already realized keep theirs). Proceeds
   * realized while no rate at or before their day was on record get theirs now, in the same transaction: the
   * latest rate at or before the day of realization, as if it had been there, and its PKR equivalent. A rate dated
   * after today in Pakistan is not known yet, and is refused.
   */
  async put(dto: PutFxRateDto): Promise<FxRateDto> {
    const today = pakistanDate(this.clock.now());
    if (dto.asOf > today) {
      throw Problems.validation([
        { field: 'asOf', message: `asOf must not be later than today in Pakistan (${today})` },
      ]);
    }
    return this.db.transaction(async (tx) => {
      await holdFxRates(tx, 'exclusive');
      const [row] = await tx.query(
        `INSERT INTO fx_rates (pair, as_of, rate) VALUES ($1, $2::date, $3)
         ON CONFLICT (pair, as_of) DO UPDATE SET rate = EXCLUDED.rate, updated_at = now()
         RETURNING rate::text AS rate, as_of::text AS as_of`,
        [USD_PKR, dto.asOf, dto.rate],
      );
      // round(numeric, 2) rounds half away from zero: half-up for these positive amounts, as pkrEquivalent().
      const filled: { id: string }[] = await tx.query(
        `WITH due AS (
           SELECT i.id, r.rate, r.as_of, round(i.net_realized * r.rate, 2) AS pkr
           FROM invoices i
           CROSS JOIN LATERAL (${latestRateSql(
             '$1',
             `(i.realized_at AT TIME ZONE 'UTC' + interval '${PAKISTAN_UTC_OFFSET_HOURS} hours')::date`,
           )}) r
           WHERE i.net_realized IS NOT NULL AND i.fx_rate IS NULL
           FOR UPDATE OF i)
         UPDATE invoices SET fx_rate = due.rate, fx_as_of = due.as_of, pkr_equivalent = due.pkr
         FROM due WHERE invoices.id = due.id AND invoices.fx_rate IS NULL
         RETURNING invoices.id`,
        [USD_PKR],
      );
      if (filled.length) {
        this.logger.log(
          `The USD-PKR rate of ${row.as_of} filled ${filled.length} realized invoice(s) that had none.`,
        );
      }
      return { pair: USD_PKR, rate: formatRate(parseDecimal(row.rate)), asOf: row.as_of };
    });
  }
}

/** Rates show their significant decimals, at least two: "278.45", "278.4512". */
export function formatRate(rate: Decimal): string {
  return formatExact(rate);
}
