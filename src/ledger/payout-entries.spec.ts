import { formatAmount, MoneyDecimal, roundCents } from '../money/money';
import { LedgerError } from './chart';
import { FeeBreakdown } from './fee-lines';
import { refundedLines, returnedLines, routedLines, sentLines, settledLines } from './payout-entries';
import { normalizePosting, PostingLine } from './posting';

const d = (text: string) => new MoneyDecimal(text);
const FREELANCER = '6f1c2a9e-0d3b-4f7a-9c1e-2b3d4e5f6a7b';

function fees(fixed: string, percent: string, fx: string, intermediary: string): FeeBreakdown {
  const parts = { fixed: d(fixed), percent: d(percent), fx: d(fx), intermediary: d(intermediary) };
  return {
    ...parts,
    total: roundCents(parts.fixed.plus(parts.percent).plus(parts.fx).plus(parts.intermediary)),
  };
}

const show = (lines: PostingLine[]) =>
  lines.map((l) => `${l.side === 'debit' ? 'Dr' : 'Cr'} ${l.account} ${formatAmount(l.amount)}`);

describe('payout entries', () => {
  it('routed: platform receivable against the freelancer in transit', () => {
    expect(show(routedLines({ freelancerId: FREELANCER, platform: 'upwork', gross: d('1250.00') }))).toEqual([
      'Dr platform_receivable:upwork 1250.00',
      `Cr freelancer_in_transit:${FREELANCER} 1250.00`,
    ]);
  });

  it('sent: the gross moves from the platform to the provider', () => {
    expect(show(sentLines({ platform: 'upwork', provider: 'payoneer', gross: d('1250.00') }))).toEqual([
      'Dr provider_in_transit:payoneer 1250.00',
      'Cr platform_receivable:upwork 1250.00',
    ]);
  });

  it('settled: net to the freelancer, one line per fee component, the provider cleared', () => {
    const f = fees('2.00', '37.50', '0.3125', '0');
    const lines = settledLines({
      freelancerId: FREELANCER,
      provider: 'payoneer',
      gross: d('1250.00'),
      fees: f,
      net: d('1250.00').minus(f.total),
    });
    expect(show(lines)).toEqual([
      `Dr freelancer_in_transit:${FREELANCER} 1250.00`,
      `Cr freelancer_settled:${FREELANCER} 1210.19`,
      'Cr provider_fees:payoneer:fixed 2.00',
      'Cr provider_fees:payoneer:percent 37.50',
      'Cr provider_fees:payoneer:fx 0.31',
      'Dr provider_disbursed:payoneer 1250.00',
      'Cr provider_in_transit:payoneer 1250.00',
    ]);
    expect(() =>
      normalizePosting({ idempotencyKey: 'k', kind: 'settled', description: '', lines }),
    ).not.toThrow();
  });

  it('settled refuses a net that is not gross minus fees', () => {
    expect(() =>
      settledLines({
        freelancerId: FREELANCER,
        provider: 'payoneer',
        gross: d('100.00'),
        fees: fees('2.00', '0', '0', '0'),
        net: d('99.00'),
      }),
    ).toThrow(LedgerError);
  });

  it('returned: settled drops by the net, which is held at the provider for the freelancer', () => {
    expect(show(returnedLines({ freelancerId: FREELANCER, provider: 'wise', net: d('98.00') }))).toEqual([
      `Dr freelancer_settled:${FREELANCER} 98.00`,
      `Cr freelancer_returned:${FREELANCER} 98.00`,
      'Dr provider_returns:wise 98.00',
      'Cr provider_disbursed:wise 98.00',
    ]);
  });

  it('refunded: the returned net leaves the freelancer and the provider for the platform', () => {
    const lines = refundedLines({
      freelancerId: FREELANCER,
      provider: 'wise',
      platform: 'upwork',
      net: d('98.00'),
    });
    expect(show(lines)).toEqual([
      `Dr freelancer_returned:${FREELANCER} 98.00`,
      'Cr platform_refunded:upwork 98.00',
      'Dr provider_refunded:wise 98.00',
      'Cr provider_returns:wise 98.00',
    ]);
    expect(() =>
      normalizePosting({ idempotencyKey: 'k', kind: 'refunded', description: 'd', lines }),
    ).not.toThrow();
  });
});
