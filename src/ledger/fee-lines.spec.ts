import fc from 'fast-check';
import Decimal from 'decimal.js';
import { formatAmount, MoneyDecimal, roundCents } from '../money/money';
import { LedgerError } from './chart';
import { FeeBreakdown, feeLines } from './fee-lines';

const d = (text: string) => new MoneyDecimal(text);

function breakdown(fixed: string, percent: string, fx: string, intermediary: string): FeeBreakdown {
  const parts = { fixed: d(fixed), percent: d(percent), fx: d(fx), intermediary: d(intermediary) };
  return {
    ...parts,
    total: roundCents(parts.fixed.plus(parts.percent).plus(parts.fx).plus(parts.intermediary)),
  };
}

const text = (lines: { component: string; amount: Decimal }[]) =>
  lines.map((l) => `${l.component}=${formatAmount(l.amount)}`).join(' ');

describe(feeLines.name, () => {
  it('books whole-cent components as they are, and leaves out those of zero', () => {
    expect(text(feeLines(breakdown('30.00', '0', '0', '20.00')))).toBe('fixed=30.00 intermediary=20.00');
  });

  it('gives the cent lost in rounding to the component that lost the most', () => {
    // 2.00 + 37.515 + 0.3125 = 39.8275 → 39.83; cut down: 2.00 + 37.51 + 0.31 = 39.82, one cent missing.
    expect(text(feeLines(breakdown('2.00', '37.515', '0.3125', '0')))).toBe(
      'fixed=2.00 percent=37.52 fx=0.31',
    );
  });

  it('breaks ties in the order fixed, percent, fx, intermediary', () => {
    // 0.005 × 2 = 0.01: one cent for two equal remainders goes to percent, before fx.
    expect(text(feeLines(breakdown('0', '0.005', '0.005', '0')))).toBe('percent=0.01');
  });

  it('books nothing when the fees round to zero', () => {
    expect(feeLines(breakdown('0', '0.001', '0.002', '0'))).toEqual([]);
  });

  it('refuses a total that is not the rounded sum of the components', () => {
    const fees = { ...breakdown('2.00', '37.515', '0', '0'), total: d('39.51') };
    expect(() => feeLines(fees)).toThrow(LedgerError);
  });

  it('refuses negative components', () => {
    expect(() => feeLines(breakdown('-1.00', '2.00', '0', '0'))).toThrow(LedgerError);
  });

  it('always sums to the total, each line within a cent of its exact component', () => {
    const micros = fc
      .bigInt({ min: 0n, max: 5_000_000_000n })
      .map((n) => new MoneyDecimal(n.toString()).div(1e6));
    fc.assert(
      fc.property(micros, micros, micros, micros, (fixed, percent, fx, intermediary) => {
        const fees = breakdown(fixed.toString(), percent.toString(), fx.toString(), intermediary.toString());
        const lines = feeLines(fees);
        const sum = lines.reduce((acc, l) => acc.plus(l.amount), new MoneyDecimal(0));
        expect(sum.equals(fees.total)).toBe(true);
        for (const line of lines) {
          expect(line.amount.greaterThan(0)).toBe(true);
          expect(line.amount.equals(line.amount.toDecimalPlaces(2))).toBe(true);
          expect(line.amount.minus(fees[line.component]).abs().lessThan('0.01')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
