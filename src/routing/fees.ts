import Decimal from 'decimal.js';
import { MoneyDecimal, roundCents } from '../money/money';
import { RouteFees } from './catalog';

/** What one route costs on one gross amount. Components are exact; only `total` is rounded. */
export interface FeeBreakdown {
  fixed: Decimal;
  percent: Decimal;
  fx: Decimal;
  intermediary: Decimal;
  total: Decimal;
  net: Decimal;
}

const HUNDRED = new MoneyDecimal(100);
const BPS = new MoneyDecimal(10_000);

/**
 * Contract section 6: the percent part is raised to its floor and lowered to its cap where set, the FX spread
 * is in basis points of gross, and the sum is rounded half-up to cents once, so no component loses a fraction
 * of a cent before the others are added.
 */
export function computeFees(fees: RouteFees, gross: Decimal): FeeBreakdown {
  let percent = gross.times(fees.percentFee).dividedBy(HUNDRED);
  if (fees.percentMin !== null && percent.lessThan(fees.percentMin)) percent = fees.percentMin;
  if (fees.percentMax !== null && percent.greaterThan(fees.percentMax)) percent = fees.percentMax;
  const fx = gross.times(fees.fxSpreadBps).dividedBy(BPS);
  const total = roundCents(fees.fixedFee.plus(percent).plus(fx).plus(fees.intermediaryFee));
  return {
    fixed: fees.fixedFee,
    percent,
    fx,
    intermediary: fees.intermediaryFee,
    total,
    net: gross.minus(total),
  };
}
