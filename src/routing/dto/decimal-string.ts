import { ValidateBy, ValidationOptions } from 'class-validator';
import { MoneyDecimal } from '../../money/money';

export interface DecimalStringRule {
  /** Most fraction digits allowed (amounts: 2). */
  fractionDigits: number;
  /** Smallest allowed value; exclusive when `minExclusive`. */
  min: string;
  minExclusive?: boolean;
  /** Largest allowed value, inclusive. */
  max: string;
}

/**
 * A check for one rule: answers why a value breaks it, or null. JSON numbers are refused: a float has
 * already lost the exact value.
 */
export function decimalStringCheck(rule: DecimalStringRule): (value: unknown) => string | null {
  const pattern = new RegExp(`^(0|[1-9]\\d{0,17})(\\.\\d{1,${rule.fractionDigits}})?$`);
  const shape = `must be a decimal string with at most ${rule.fractionDigits} fraction digits, such as "${(1250).toFixed(rule.fractionDigits)}"`;
  return (value) => {
    if (typeof value !== 'string' || !pattern.test(value)) return shape;
    const decimal = new MoneyDecimal(value);
    if (rule.minExclusive ? decimal.lessThanOrEqualTo(rule.min) : decimal.lessThan(rule.min)) {
      return rule.minExclusive ? `must be greater than ${rule.min}` : `must be at least ${rule.min}`;
    }
    if (decimal.greaterThan(rule.max)) return `must be at most ${rule.max}`;
    return null;
  };
}

/** A decimal string within bounds: how amounts and rates arrive in request bodies. */
export function IsDecimalString(rule: DecimalStringRule, options?: ValidationOptions): PropertyDecorator {
  const check = decimalStringCheck(rule);
  return ValidateBy(
    {
      name: 'isDecimalString',
      constraints: [rule],
      validator: {
        validate: (value) => check(value) === null,
        defaultMessage: (args) => `${args?.property} ${check(args?.value)}`,
      },
    },
    options,
  );
}
