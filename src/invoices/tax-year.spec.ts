import { MoneyDecimal } from '../money/money';
import { pakistanDate } from './pakistan-export';
import { RealizedInvoice, summarizeTaxYear, taxYearPeriod } from './tax-year';

function realized(overrides: Partial<RealizedInvoice> = {}): RealizedInvoice {
  return {
    invoiceId: 'inv-1',
    number: 'INV-2026-000001',
    realizedAt: new Date('2026-11-22T06:30:00Z'),
    exportStatus: 'proceeds_realized',
    purposeCode: '9186',
    psebRegistrationNo: 'PSEB-F-12345',
    gross: new MoneyDecimal('1250.00'),
    routingFees: new MoneyDecimal('51.25'),
    netRealized: new MoneyDecimal('1198.75'),
    fxRate: new MoneyDecimal('278.45'),
    pkrEquivalent: new MoneyDecimal('333791.94'),
    esfcaRetained: new MoneyDecimal('1198.75'),
    prcNumber: null,
    ...overrides,
  };
}

describe('tax years', () => {
  it('run from 1 July to 30 June in Pakistan and are named by the year they end in', () => {
    const period = taxYearPeriod(2027);
    expect(period).toEqual({
      from: '2026-07-01',
      to: '2027-06-30',
      start: new Date('2026-06-30T19:00:00.000Z'),
      end: new Date('2027-06-30T19:00:00.000Z'),
    });
    expect(pakistanDate(period.start)).toBe('2026-07-01');
    expect(pakistanDate(new Date(period.start.getTime() - 1))).toBe('2026-06-30');
    expect(pakistanDate(new Date(period.end.getTime() - 1))).toBe('2027-06-30');
    expect(pakistanDate(period.end)).toBe('2027-07-01');
  });

  it('rounds each invoice’s withholding to cents before adding, as each PDF shows it', () => {
    // 0.25% of 1.50 is 0.00375: 0.00 per invoice, although three of them make 0.01125.
    const small = realized({
      gross: new MoneyDecimal('2.00'),
      routingFees: new MoneyDecimal('0.50'),
      netRealized: new MoneyDecimal('1.50'),
      pkrEquivalent: new MoneyDecimal('417.68'),
    });
    const summary = summarizeTaxYear([small, small, small]);
    expect(summary.totals).toMatchObject({ invoices: 3, netRealized: '4.50', withholdingUsd: '0.00' });
    // 0.25% of 417.68 is 1.0442: 1.04 each.
    expect(summary.totals.withholdingPkr).toBe('3.12');
  });

  it('counts proceeds that stand, lists returned ones apart, and leaves invoices without a rate out of PKR', () => {
    const summary = summarizeTaxYear([
      realized({ invoiceId: 'a', psebRegistrationNo: null, purposeCode: '9249' }),
      realized({
        invoiceId: 'b',
        fxRate: null,
        pkrEquivalent: null,
        exportStatus: 'prc_issued',
        prcNumber: 'P-1',
      }),
      realized({ invoiceId: 'c', exportStatus: 'proceeds_failed' }),
    ]);
    expect(summary.totals).toEqual({
      invoices: 2,
      gross: '2500.00',
      routingFees: '102.50',
      netRealized: '2397.50',
      pkrEquivalent: '333791.94',
      withholdingUsd: '14.99',
      withholdingPkr: '3337.92',
      esfcaRetained: '2397.50',
    });
    expect(summary.byPurposeCode.map((p) => [p.purposeCode, p.invoices, p.withholdingUsd])).toEqual([
      ['9186', 1, '3.00'],
      ['9249', 1, '11.99'],
    ]);
    expect(summary).toMatchObject({
      withoutFxRate: 1,
      awaitingPrc: 1,
      returned: { invoices: 1, netRealized: '1198.75' },
    });
    expect(summary.lines.map((l) => [l.invoiceId, l.withholdingRatePercent, l.fxRate])).toEqual([
      ['a', '1', '278.45'],
      ['b', '0.25', null],
      ['c', '0.25', '278.45'],
    ]);
  });
});
