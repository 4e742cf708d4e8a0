import { MoneyDecimal } from '../money/money';
import { Accounts, LedgerError, normalSideOf } from './chart';
import { normalizePosting, PostingLine, PostingRequest, reversalOf, sameLines } from './posting';

const d = (text: string) => new MoneyDecimal(text);
const FREELANCER = '6f1c2a9e-0d3b-4f7a-9c1e-2b3d4e5f6a7b';

function entry(lines: PostingLine[], extra: Partial<PostingRequest> = {}): PostingRequest {
  return { idempotencyKey: 'k-1', kind: 'routed', description: 'test', lines, ...extra };
}

const routed: PostingLine[] = [
  { account: Accounts.platformReceivable('upwork'), side: 'debit', amount: d('1250.00') },
  { account: Accounts.freelancerInTransit(FREELANCER), side: 'credit', amount: d('1250') },
];

describe('chart of accounts', () => {
  it('knows the normal side of every account type', () => {
    expect(normalSideOf('platform_receivable:upwork')).toBe('debit');
    expect(normalSideOf(`freelancer_settled:${FREELANCER}`)).toBe('credit');
    expect(normalSideOf('provider_fees:payoneer:percent')).toBe('credit');
  });

  it.each([
    'cash:upwork',
    'platform_receivable',
    'platform_receivable:Upwork',
    'platform_receivable:up:work',
    'provider_fees:payoneer',
    'provider_fees:payoneer:tips',
    'constructor:x',
  ])('refuses %p', (name) => {
    expect(() => normalSideOf(name)).toThrow(LedgerError);
  });

  it('refuses a segment that would break the account name', () => {
    expect(() => Accounts.providerInTransit('pay:oneer')).toThrow(LedgerError);
  });
});

describe(normalizePosting.name, () => {
  it('turns a balanced entry into two-digit lines', () => {
    expect(normalizePosting(entry(routed))).toEqual([
      {
        account: 'platform_receivable:upwork',
        side: 'debit',
        amount: '1250.00',
        currency: 'USD',
        normalSide: 'debit',
      },
      {
        account: `freelancer_in_transit:${FREELANCER}`,
        side: 'credit',
        amount: '1250.00',
        currency: 'USD',
        normalSide: 'credit',
      },
    ]);
  });

  it.each<[string, PostingRequest]>([
    ['unbalanced', entry([routed[0], { ...routed[1], amount: d('1249.99') }])],
    ['a single line', entry([routed[0]])],
    [
      'a zero amount',
      entry([
        { ...routed[0], amount: d('0') },
        { ...routed[1], amount: d('0') },
      ]),
    ],
    [
      'a negative amount',
      entry([
        { ...routed[0], amount: d('-1') },
        { ...routed[1], amount: d('-1') },
      ]),
    ],
    [
      'fractions of a cent',
      entry([
        { ...routed[0], amount: d('1.001') },
        { ...routed[1], amount: d('1.001') },
      ]),
    ],
    [
      'a JavaScript number',
      entry([
        { ...routed[0], amount: 5 as never },
        { ...routed[1], amount: d('5') },
      ]),
    ],
    ['an account outside the chart', entry([{ ...routed[0], account: 'cash:upwork' }, routed[1]])],
    ['an empty key', entry(routed, { idempotencyKey: '' })],
    ['a bad kind', entry(routed, { kind: 'Routed!' })],
    ['a payout id that is no UUID', entry(routed, { payoutId: 'po-1' })],
  ])('refuses %s', (_, request) => {
    expect(() => normalizePosting(request)).toThrow(LedgerError);
  });

  it('balances per currency', () => {
    expect(() => normalizePosting(entry([routed[0], { ...routed[1], currency: 'EUR' as never }]))).toThrow(
      /unbalanced in USD/,
    );
  });
});

describe(reversalOf.name, () => {
  it('swaps every side and keeps accounts and amounts', () => {
    const reversed = reversalOf(routed);
    expect(reversed.map((l) => l.side)).toEqual(['credit', 'debit']);
    expect(sameLines(reversalOf(reversed), routed)).toBe(true);
    expect(sameLines(reversed, routed)).toBe(false);
  });
});
