import Decimal from 'decimal.js';
import { MoneyDecimal, roundCents } from '../money/money';
import { FEE_COMPONENTS, FeeComponent, LedgerError } from './chart';

/** A payout's fees as routing computed them: components exact (up to six decimals), total rounded to cents. */
export interface FeeBreakdown {
  fixed: Decimal;
  percent: Decimal;
  fx: Decimal;
  intermediary: Decimal;
  total: Decimal;
}

export interface FeeLine {
  component: FeeComponent;
  amount: Decimal;
}

/**
 * Splits the rounded fee total into one two-digit amount per component, summing exactly to the total
 * (largest remainder): each component is cut down to cents, then the cents still missing go one each to
 * the components that lost the most, ties in the order fixed, percent, fx, intermediary. So no line is more
 * than a cent away from its exact component, and a component of zero gets no line.
 */
export function feeLines(fees: FeeBreakdown): FeeLine[] {
  const parts = FEE_COMPONENTS.map((component, order) => {
    const exact = fees[component];
    if (!Decimal.isDecimal(exact) || !exact.isFinite() || exact.isNegative()) {
      throw new LedgerError(`fee component ${component} must be a Decimal of zero or more`);
    }
    const cents = new MoneyDecimal(exact).toDecimalPlaces(2, Decimal.ROUND_DOWN);
    return { component, order, cents, remainder: new MoneyDecimal(exact).minus(cents) };
  });
  const exactSum = FEE_COMPONENTS.reduce((sum, c) => sum.plus(fees[c]), new MoneyDecimal(0));
  const total = roundCents(exactSum);
  if (!Decimal.isDecimal(fees.total) || !total.equals(fees.total)) {
    throw new LedgerError(
      `fee total ${String(fees.total)} is not the components' sum ${exactSum.toString()} rounded half-up to cents`,
    );
  }
  const floored = parts.reduce((sum, p) => sum.plus(p.cents), new MoneyDecimal(0));
  const missing = total.minus(floored).times(100).toNumber();
  const byRemainder = [...parts].sort((a, b) => b.remainder.comparedTo(a.remainder) || a.order - b.order);
  for (const part of byRemainder.slice(0, missing)) part.cents = part.cents.plus('0.01');
  return parts
    .filter((p) => p.cents.greaterThan(0))
    .map((p) => ({ component: p.component, amount: p.cents }));
}
