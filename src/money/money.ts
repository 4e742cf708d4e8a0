import Decimal from 'decimal.js';

/** A decimal.js instance for money: enough precision for any amount we hold, half-up rounding by default. */
export const MoneyDecimal = Decimal.clone({
  precision: 40,
  rounding: Decimal.ROUND_HALF_UP,
  toExpNeg: -40,
  toExpPos: 40,
});
export type Dec = Decimal;

const AMOUNT_PATTERN = /^-?(0|[1-9]\d{0,17})(\.\d{1,2})?$/;
const DECIMAL_PATTERN = /^-?(0|[1-9]\d{0,17})(\.\d+)?$/;

export class MoneyParseError extends Error {}

/**
 * Parses an amount given as a decimal string with at most two fraction digits ("1250.00", "3.5").
 * JavaScript numbers are refused: a float has already lost the exact value.
 */
export function parseAmount(value: unknown): Decimal {
  if (typeof value !== 'string') throw new MoneyParseError('must be a decimal string such as "1250.00"');
  if (!AMOUNT_PATTERN.test(value)) {
    throw new MoneyParseError('must be a decimal string with at most two fraction digits');
  }
  return new MoneyDecimal(value);
}

/** Parses any exact decimal string (fee rates, stored numerics). */
export function parseDecimal(value: unknown): Decimal {
  if (value instanceof Decimal) return new MoneyDecimal(value);
  if (typeof value !== 'string' || !DECIMAL_PATTERN.test(value)) {
    throw new MoneyParseError('must be a decimal string');
  }
  return new MoneyDecimal(value);
}

/** Integer minor units (Stripe's cents) to an amount: 125000 → 1250.00. */
export function fromMinorUnits(cents: number | string): Decimal {
  const text = typeof cents === 'number' ? (Number.isSafeInteger(cents) ? String(cents) : '') : cents;
  if (!/^-?\d+$/.test(text)) throw new MoneyParseError('must be an integer number of cents');
  return new MoneyDecimal(text).dividedBy(100);
}

/** Rounds half-up to cents: the one rounding rule of the contract. */
export function roundCents(value: Decimal): Decimal {
  return value.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

/** Formats as a two-digit string; refuses to hide a value that is not whole cents. */
export function formatAmount(value: Decimal): string {
  if (!value.equals(value.toDecimalPlaces(2))) {
    throw new MoneyParseError(`amount ${value.toString()} has more than two fraction digits; round it first`);
  }
  return value.toFixed(2);
}

/** Formats an exact intermediate figure (fee components) with up to six fraction digits, at least two. */
export function formatExact(value: Decimal): string {
  const six = value.toDecimalPlaces(6, Decimal.ROUND_HALF_UP);
  const text = six.toFixed(6).replace(/0{1,4}$/, '');
  return text;
}

export function sumAmounts(values: Decimal[]): Decimal {
  return values.reduce((acc, v) => acc.plus(v), new MoneyDecimal(0));
}

export const ZERO = new MoneyDecimal(0);
