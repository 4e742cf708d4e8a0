import { SERVICE_CATEGORIES } from '../payouts/payout-instruction';
import { formatAmount, MoneyDecimal } from '../money/money';
import {
  esfcaRetained,
  pakistanDate,
  pakistanMonthStart,
  pakistanYear,
  parsePakistanInstant,
  pkrEquivalent,
  purposeCodeFor,
  UnknownServiceCategoryError,
  withholdingAmount,
  withholdingRatePercent,
} from './pakistan-export';

describe('pakistan-export', () => {
  describe(purposeCodeFor.name, () => {
    it.each([
      ['software_development', '9186'],
      ['web_development', '9186'],
      ['data_analysis', '9186'],
      ['it_support', '9186'],
      ['graphic_design', '9249'],
      ['digital_marketing', '9249'],
      ['content_writing', '9249'],
      ['virtual_assistance', '9249'],
      ['online_teaching', '9249'],
      ['other', '9249'],
    ])('maps %s to %s', (category, code) => {
      expect(purposeCodeFor(category)).toBe(code);
    });

    it('covers every service category a payout can carry, and never answers 9471', () => {
      for (const category of SERVICE_CATEGORIES) {
        expect(['9186', '9249']).toContain(purposeCodeFor(category));
      }
    });

    it.each(['unknown', 'toString', '__proto__', ''])('refuses the unknown category %p', (category) => {
      expect(() => purposeCodeFor(category)).toThrow(UnknownServiceCategoryError);
    });
  });

  describe('Pakistani calendar dates (UTC+05:00)', () => {
    it.each([
      ['2026-12-31T18:59:59.999Z', '2026-12-31', 2026],
      ['2026-12-31T19:00:00.000Z', '2027-01-01', 2027],
      ['2026-06-15T00:00:00.000Z', '2026-06-15', 2026],
      ['2026-06-14T20:30:00.000Z', '2026-06-15', 2026],
    ])('%s is %s in Pakistan', (iso, date, year) => {
      expect(pakistanDate(new Date(iso))).toBe(date);
      expect(pakistanYear(new Date(iso))).toBe(year);
    });
  });

  describe(parsePakistanInstant.name, () => {
    it.each([
      ['2026-11-23', '2026-11-23T00:00:00.000Z'],
      ['2024-02-29', '2024-02-29T00:00:00.000Z'],
      ['2026-11-23T10:00:00Z', '2026-11-23T10:00:00.000Z'],
      ['2026-11-23t10:00z', '2026-11-23T10:00:00.000Z'],
      ['2026-11-23T10:00:00.123456789Z', '2026-11-23T10:00:00.123Z'],
      ['2026-11-23T10:00:00.5+05:00', '2026-11-23T05:00:00.500Z'],
      ['2026-11-23T10:00-0430', '2026-11-23T14:30:00.000Z'],
      ['2026-11-23T10:00+14:00', '2026-11-22T20:00:00.000Z'],
      ['2026-11-23T10:00-14:00', '2026-11-24T00:00:00.000Z'],
      // No offset: Pakistan's wall clock, whatever the server's time zone.
      ['2026-11-23T10:00:00', '2026-11-23T05:00:00.000Z'],
      ['2026-11-23 10:00:00', '2026-11-23T05:00:00.000Z'],
      ['2026-01-01T03:00', '2025-12-31T22:00:00.000Z'],
    ])('reads %s as %s', (text, iso) => {
      expect(parsePakistanInstant(text)?.toISOString()).toBe(iso);
    });

    it.each([
      '2026',
      '2026-11',
      '20261123',
      '2026-W48-1',
      '2026-334',
      '2026-11-23T1000Z',
      '2026-11-23T10Z',
      '2026-11-23T10:00:00,5Z',
      '2026-02-29',
      '2026-13-01',
      '2026-11-31',
      '2026-11-23T24:00:00Z',
      '2026-11-23T10:60Z',
      '2026-11-23T23:59:60Z',
      '2026-11-23T10:00+15:00',
      '2026-11-23T10:00+14:01',
      '2026-11-23T10:00-14:30',
      '2026-11-23T10:00+1459',
      '2026-11-01T10:00:00+23:59',
      '23/11/2026',
      ' 2026-11-23',
      '',
    ])('refuses %j', (text) => {
      expect(parsePakistanInstant(text)).toBeNull();
    });
  });

  describe(esfcaRetained.name, () => {
    it.each([
      ['1198.75', '1198.75'],
      ['5000.00', '5000.00'],
      ['9000.00', '5000.00'],
      ['10000.00', '5000.00'],
      ['10000.02', '5000.01'],
      ['24000.00', '12000.00'],
      ['10000.01', '5000.01'],
    ])('keeps the higher of USD 5,000 or 50%%, at most the net: %s → %s', (net, kept) => {
      expect(formatAmount(esfcaRetained(new MoneyDecimal(net)))).toBe(kept);
    });

    it.each([
      // earlier this month, this payout, its share
      ['3000.00', '1000.00', '1000.00'],
      ['4500.00', '1000.00', '500.00'],
      ['6000.00', '6000.00', '1000.00'],
      ['10000.00', '2000.00', '1000.00'],
      ['10000.01', '0.01', '0.00'],
      ['10000.02', '0.01', '0.01'],
    ])('counts the month: after %s realized, %s adds %s', (earlier, net, share) => {
      expect(formatAmount(esfcaRetained(new MoneyDecimal(net), new MoneyDecimal(earlier)))).toBe(share);
    });

    it('adds up over a month to the allowance of its total, in any order of payouts', () => {
      const nets = ['1198.75', '4000.00', '0.05', '7250.33', '2500.10', '999.99'].map(
        (n) => new MoneyDecimal(n),
      );
      for (const order of [nets, [...nets].reverse()]) {
        let earlier = new MoneyDecimal(0);
        let kept = new MoneyDecimal(0);
        for (const net of order) {
          kept = kept.plus(esfcaRetained(net, earlier));
          earlier = earlier.plus(net);
        }
        // 15,949.22 in the month: half of it (7,974.61) is more than USD 5,000.
        expect([formatAmount(earlier), formatAmount(kept)]).toEqual(['15949.22', '7974.61']);
      }
    });
  });

  describe(pakistanMonthStart.name, () => {
    it.each([
      ['2026-11-30T18:59:59.999Z', '2026-11-01'],
      ['2026-11-30T19:00:00.000Z', '2026-12-01'],
      ['2026-12-31T20:00:00.000Z', '2027-01-01'],
    ])('%s is in the Pakistani month of %s', (at, month) => {
      expect(pakistanMonthStart(new Date(at))).toBe(month);
    });
  });

  describe(pkrEquivalent.name, () => {
    it.each([
      ['1198.75', '278.45', '333791.94'],
      ['0.01', '278.455', '2.78'],
      ['0.01', '278.5', '2.79'],
      ['1000000.00', '300.123456', '300123456.00'],
      ['100.00', '0.000001', '0.00'],
    ])('%s USD at %s is PKR %s (half-up to two decimals)', (net, rate, pkr) => {
      expect(formatAmount(pkrEquivalent(new MoneyDecimal(net), new MoneyDecimal(rate)))).toBe(pkr);
    });
  });

  describe('withholding information', () => {
    it('is 0.25% for PSEB-registered exporters and 1% for others', () => {
      expect(withholdingRatePercent('PSEB-F-12345').toString()).toBe('0.25');
      expect(withholdingRatePercent(null).toString()).toBe('1');
      expect(formatAmount(withholdingAmount(new MoneyDecimal('1198.75'), 'PSEB-F-1'))).toBe('3.00');
      expect(formatAmount(withholdingAmount(new MoneyDecimal('1198.75'), null))).toBe('11.99');
    });
  });
});
