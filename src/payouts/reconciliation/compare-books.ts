import type Decimal from 'decimal.js';
import { formatExact } from '../../money/money';
import { StatementLine } from '../connectors/provider-connector';
import { AttemptStatus } from '../payout-status';

/** One of our attempts at a provider, as reconciliation compares it: the amount is the payout's gross. */
export interface OurTransfer {
  attemptId: string;
  payoutId: string;
  idempotencyKey: string;
  status: AttemptStatus;
  amount: Decimal;
  currency: string;
  updatedAt: Date;
}

export type ProviderState = StatementLine['state'];

/**
 * - `unknown_transfer`: the provider moved money under a key no attempt of ours holds.
 * - `missing_transfer`: we hold the money as sent (accepted, settled or returned) and the provider has no transfer.
 * - `amount_mismatch`: the provider moved another amount or currency than the payout's.
 * - `state_contradiction`: the two books disagree in a way no later step of ours can mend (we booked a failure
 *   while the provider pays, a settlement it does not show, or the reverse).
 * - `state_behind`: the provider is further along than we are (settled while we wait, a return not yet seen):
 *   the pipeline's polling catches up by itself; one that stays is a stuck payout.
 */
export const DISCREPANCY_KINDS = [
  'unknown_transfer',
  'missing_transfer',
  'amount_mismatch',
  'state_contradiction',
  'state_behind',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

export interface Discrepancy {
  kind: DiscrepancyKind;
  idempotencyKey: string;
  ours: OurTransfer | null;
  provider: StatementLine | null;
  detail: string;
}

export interface BooksComparison {
  /** Transfers whose key, amount and state agree on both sides. */
  matched: number;
  discrepancies: Discrepancy[];
}

type Agreement = 'match' | 'behind' | 'contradiction';

/**
 * How our attempt's status stands against the provider's state of the same transfer. An attempt whose send has
 * not been answered yet (pending, unknown) may find any state at the provider; the status check that follows
 * reads it.
 */
export function agreement(ours: AttemptStatus, provider: ProviderState): Agreement {
  switch (ours) {
    case 'pending':
    case 'unknown':
      return 'behind';
    case 'accepted':
      return provider === 'processing' ? 'match' : 'behind';
    case 'settled':
      return provider === 'settled' ? 'match' : provider === 'returned' ? 'behind' : 'contradiction';
    case 'returned':
      return provider === 'returned' ? 'match' : 'contradiction';
    case 'failed':
      return provider === 'failed' ? 'match' : 'contradiction';
  }
}

/** Statuses in which our books hold the money as having gone to the provider. */
const SENT: readonly AttemptStatus[] = ['accepted', 'settled', 'returned'];

/**
 * Compares the provider's transfers with our attempts, matched by idempotency key: `provider` holds the
 * statement's transfers by key, `ours` the attempts of the window and those the statement names. Pure: the caller
 * reads both books.
 */
export function compareBooks(
  ours: OurTransfer[],
  provider: ReadonlyMap<string, StatementLine>,
): BooksComparison {
  const byKey = new Map(ours.map((attempt) => [attempt.idempotencyKey, attempt]));
  const discrepancies: Discrepancy[] = [];
  let matched = 0;
  const keys = [...new Set([...provider.keys(), ...byKey.keys()])].sort();
  for (const key of keys) {
    const line = provider.get(key) ?? null;
    const attempt = byKey.get(key) ?? null;
    const found = (kind: DiscrepancyKind, detail: string) =>
      discrepancies.push({ kind, idempotencyKey: key, ours: attempt, provider: line, detail });
    if (!attempt) {
      if (line)
        found(
          'unknown_transfer',
          `the provider holds a ${line.state} transfer of ${formatExact(line.amount)} ${line.currency} under a key we never sent`,
        );
      continue;
    }
    if (!line) {
      if (SENT.includes(attempt.status))
        found(
          'missing_transfer',
          `our attempt is ${attempt.status}; the provider has no transfer under its key`,
        );
      continue;
    }
    let agrees = true;
    if (!line.amount.equals(attempt.amount) || line.currency !== attempt.currency) {
      agrees = false;
      found(
        'amount_mismatch',
        `the provider moved ${formatExact(line.amount)} ${line.currency}; the payout is ${formatExact(attempt.amount)} ${attempt.currency}`,
      );
    }
    const states = agreement(attempt.status, line.state);
    if (states !== 'match') {
      agrees = false;
      found(
        states === 'behind' ? 'state_behind' : 'state_contradiction',
        `our attempt is ${attempt.status}; the provider's transfer is ${line.state}`,
      );
    }
    if (agrees) matched += 1;
  }
  return { matched, discrepancies };
}
