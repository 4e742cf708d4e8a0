import fc from 'fast-check';
import {
  formatAmount,
  formatExact,
  fromMinorUnits,
  MoneyDecimal,
  MoneyParseError,
  parseAmount,
  parseDecimal,
  roundCents,
} from './money';

describe('money', () => {
  describe(parseAmount.name, () => {
    it.each(['0', '0.5', '1250.00', '1000000.00', '-3.10'])('parses %s exactly', (text) => {
      expect(parseAmount(text).equals(new MoneyDecimal(text))).toBe(true);
    });

    it.each(['1.234', '1e3', '01.00', '', ' 1.00', '1,000.00', 'abc', '.5', '1.'])('refuses %p', (text) => {
      expect(() => parseAmount(text)).toThrow(MoneyParseError);
    });

    it('refuses JavaScript numbers, which may already have lost the value', () => {
      expect(() => parseAmount(0.1)).toThrow(MoneyParseError);
      expect(() => parseAmount(1250)).toThrow(MoneyParseError);
    });
  });

  describe(roundCents.name, () => {
    it.each([
      ['0.005', '0.01'],
      ['0.004999', '0.00'],
      ['2.675', '2.68'],
      ['-2.675', '-2.68'],
      ['1.115', '1.12'],
    ])('rounds %s half-up to %s', (input, expected) => {
      expect(formatAmount(roundCents(new MoneyDecimal(input)))).toBe(expected);
    });
  });

  describe(formatAmount.name, () => {
    it('always shows two fraction digits', () => {
      expect(formatAmount(new MoneyDecimal('5'))).toBe('5.00');
      expect(formatAmount(new MoneyDecimal('1000000.1'))).toBe('1000000.10');
    });

    it('refuses to format an unrounded value rather than silently rounding it', () => {
      expect(() => formatAmount(new MoneyDecimal('1.005'))).toThrow(MoneyParseError);
    });
  });

  describe(formatExact.name, () => {
    it('keeps up to six fraction digits and at least two', () => {
      expect(formatExact(new MoneyDecimal('37.5'))).toBe('37.50');
      expect(formatExact(new MoneyDecimal('0.123456'))).toBe('0.123456');
      expect(formatExact(new MoneyDecimal('0.0375'))).toBe('0.0375');
    });
  });

  describe(fromMinorUnits.name, () => {
    it('turns Stripe cents into dollars', () => {
      expect(formatAmount(fromMinorUnits(125000))).toBe('1250.00');
      expect(formatAmount(fromMinorUnits(1))).toBe('0.01');
    });

    it('refuses fractional or unsafe cents', () => {
      expect(() => fromMinorUnits(1.5)).toThrow(MoneyParseError);
      expect(() => fromMinorUnits(2 ** 60)).toThrow(MoneyParseError);
    });
  });

  it('parse and format round-trip any two-digit amount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 14n }), (cents) => {
        const text = `${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`;
        expect(formatAmount(parseAmount(text))).toBe(text);
      }),
    );
  });

  it('parseDecimal accepts exact rates', () => {
    expect(parseDecimal('278.4512').toString()).toBe('278.4512');
    expect(() => parseDecimal('1e2')).toThrow(MoneyParseError);
  });
});
