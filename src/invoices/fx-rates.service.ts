import { Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import { DataSource, EntityManager } from 'typeorm';
import { formatExact, parseDecimal } from '../money/money';
import { FxRateDto, PutFxRateDto } from './dto/fx-rate.dto';

export const USD_PKR = 'USD-PKR';

@Injectable()
export class FxRatesService {
  constructor(private readonly db: DataSource) {}

  /** One rate per day: a second PUT for the same asOf replaces it (invoices already realized keep theirs). */
  async put(dto: PutFxRateDto): Promise<FxRateDto> {
    const [row] = await this.db.query(
      `INSERT INTO fx_rates (pair, as_of, rate) VALUES ($1, $2::date, $3)
       ON CONFLICT (pair, as_of) DO UPDATE SET rate = EXCLUDED.rate, updated_at = now()
       RETURNING rate::text AS rate, as_of::text AS as_of`,
      [USD_PKR, dto.asOf, dto.rate],
    );
    return { pair: USD_PKR, rate: formatRate(parseDecimal(row.rate)), asOf: row.as_of };
  }

  /** The latest USD-PKR rate at or before a date (YYYY-MM-DD), or null when none is on record. */
  async rateAt(manager: EntityManager, date: string): Promise<{ rate: Decimal; asOf: string } | null> {
    const rows = await manager.query(
      `SELECT rate::text AS rate, as_of::text AS as_of FROM fx_rates
       WHERE pair = $1 AND as_of <= $2::date ORDER BY as_of DESC LIMIT 1`,
      [USD_PKR, date],
    );
    return rows.length ? { rate: parseDecimal(rows[0].rate), asOf: rows[0].as_of } : null;
  }
}

/** Rates show their significant decimals, at least two: "278.45", "278.4512". */
export function formatRate(rate: Decimal): string {
  return formatExact(rate);
}
