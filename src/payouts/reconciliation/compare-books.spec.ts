import { MoneyDecimal } from '../../money/money';
import { StatementLine } from '../connectors/provider-connector';
import { ATTEMPT_STATUSES, AttemptStatus } from '../payout-status';
import { agreement, compareBooks, OurTransfer, ProviderState } from './compare-books';

const PROVIDER_STATES: ProviderState[] = ['processing', 'settled', 'failed', 'returned'];

function ours(key: string, status: AttemptStatus, amount = '1250.00'): OurTransfer {
  return {
    attemptId: `attempt-${key}`,
    payoutId: `payout-${key}`,
    idempotencyKey: key,
    status,
    amount: new MoneyDecimal(amount),
    currency: 'USD',
    updatedAt: new Date('2026-11-30T10:00:00Z'),
  };
}

function line(key: string, state: ProviderState, amount = '1250.00', currency = 'USD'): StatementLine {
  return {
    transferId: `tr-${key}`,
    idempotencyKey: key,
    amount: new MoneyDecimal(amount),
    currency,
    state,
    acceptedAt: new Date('2026-11-30T10:00:01Z'),
  };
}

const statement = (...lines: StatementLine[]) => new Map(lines.map((l) => [l.idempotencyKey, l]));

describe('agreement', () => {
  it.each([
    ['accepted', 'processing'],
    ['settled', 'settled'],
    ['returned', 'returned'],
    ['failed', 'failed'],
  ] as const)('matches %s with %s', (status, state) => {
    expect(agreement(status, state)).toBe('match');
  });

  it.each([
    ['accepted', 'settled'],
    ['accepted', 'returned'],
    ['accepted', 'failed'],
    ['settled', 'returned'],
    ['pending', 'processing'],
    ['unknown', 'settled'],
  ] as const)('finds %s behind %s: the pipeline reads it next', (status, state) => {
    expect(agreement(status, state)).toBe('behind');
  });

  it.each([
    ['failed', 'processing'],
    ['failed', 'settled'],
    ['failed', 'returned'],
    ['settled', 'processing'],
    ['settled', 'failed'],
    ['returned', 'settled'],
    ['returned', 'processing'],
  ] as const)('finds %s against %s a contradiction', (status, state) => {
    expect(agreement(status, state)).toBe('contradiction');
  });

  it('matches each provider state with exactly one of our statuses', () => {
    for (const state of PROVIDER_STATES) {
      const matching = ATTEMPT_STATUSES.filter((status) => agreement(status, state) === 'match');
      expect(matching).toHaveLength(1);
    }
  });
});

describe(compareBooks.name, () => {
  it('counts transfers that agree in key, amount and state, and finds nothing else', () => {
    const result = compareBooks(
      [ours('a', 'settled'), ours('b', 'accepted', '10.05')],
      statement(line('a', 'settled'), line('b', 'processing', '10.05')),
    );
    expect(result).toEqual({ matched: 2, discrepancies: [] });
  });

  it('names a transfer the provider made under a key no attempt of ours holds', () => {
    const result = compareBooks([], statement(line('stray', 'settled', '99.99')));
    expect(result.matched).toBe(0);
    expect(result.discrepancies).toEqual([
      {
        kind: 'unknown_transfer',
        idempotencyKey: 'stray',
        ours: null,
        provider: line('stray', 'settled', '99.99'),
        detail: 'the provider holds a settled transfer of 99.99 USD under a key we never sent',
      },
    ]);
  });

  it('names money we hold as sent that the provider does not have, and not an attempt that never reached it', () => {
    const result = compareBooks(
      [ours('sent', 'settled'), ours('refused', 'failed'), ours('waiting', 'pending')],
      statement(),
    );
    expect(result.discrepancies.map((d) => [d.kind, d.idempotencyKey])).toEqual([
      ['missing_transfer', 'sent'],
    ]);
    expect(result.matched).toBe(0);
  });

  it('names another amount or currency, and does not count the transfer as matched', () => {
    const result = compareBooks(
      [ours('amount', 'settled', '1250.00'), ours('currency', 'settled')],
      statement(line('amount', 'settled', '1250.01'), line('currency', 'settled', '1250.00', 'EUR')),
    );
    expect(result.matched).toBe(0);
    expect(result.discrepancies.map((d) => [d.kind, d.idempotencyKey, d.detail])).toEqual([
      ['amount_mismatch', 'amount', 'the provider moved 1250.01 USD; the payout is 1250.00 USD'],
      ['amount_mismatch', 'currency', 'the provider moved 1250.00 EUR; the payout is 1250.00 USD'],
    ]);
  });

  it('tells a contradiction from a provider that is only further along', () => {
    const result = compareBooks(
      [ours('paid-while-failed', 'failed'), ours('settled-at-provider', 'accepted')],
      statement(line('paid-while-failed', 'settled'), line('settled-at-provider', 'settled')),
    );
    expect(result.discrepancies.map((d) => [d.kind, d.idempotencyKey, d.detail])).toEqual([
      [
        'state_contradiction',
        'paid-while-failed',
        "our attempt is failed; the provider's transfer is settled",
      ],
      ['state_behind', 'settled-at-provider', "our attempt is accepted; the provider's transfer is settled"],
    ]);
  });

  it('reports an amount and a state discrepancy of one transfer both', () => {
    const result = compareBooks([ours('k', 'failed')], statement(line('k', 'settled', '5.00')));
    expect(result.discrepancies.map((d) => d.kind)).toEqual(['amount_mismatch', 'state_contradiction']);
  });

  it('lists discrepancies by key, whatever order the books come in', () => {
    const attempts = [ours('c', 'settled'), ours('a', 'settled'), ours('b', 'settled')];
    const forwards = compareBooks(attempts, statement());
    const backwards = compareBooks([...attempts].reverse(), statement());
    expect(forwards.discrepancies.map((d) => d.idempotencyKey)).toEqual(['a', 'b', 'c']);
    expect(backwards).toEqual(forwards);
  });
});
