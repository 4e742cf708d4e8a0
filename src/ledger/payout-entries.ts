import Decimal from 'decimal.js';
import { Accounts, LedgerError } from './chart';
import { FeeBreakdown, feeLines } from './fee-lines';
import { PostingLine } from './posting';

/**
 * The entries each pipeline step books (docs/ledger.md), and their idempotency keys. A key names the payout
 * and the step, so booking a step again finds the entry already there. Routing gets a round number because
 * a failed payout may be routed again after ops retry it.
 */
export const PayoutKeys = {
  routed: (payoutId: string, round: number) => `payout:${payoutId}:routed:${round}`,
  sent: (payoutId: string, attemptSeq: number) => `payout:${payoutId}:attempt:${attemptSeq}:sent`,
  settled: (payoutId: string, attemptSeq: number) => `payout:${payoutId}:attempt:${attemptSeq}:settled`,
  returned: (payoutId: string, attemptSeq: number) => `payout:${payoutId}:attempt:${attemptSeq}:returned`,
  refunded: (payoutId: string, attemptSeq: number) => `payout:${payoutId}:attempt:${attemptSeq}:refunded`,
  reversal: (originalKey: string) => `${originalKey}:reversal`,
};

export const EntryKinds = {
  routed: 'routed',
  sent: 'sent',
  attemptRejected: 'attempt_rejected',
  settled: 'settled',
  failed: 'failed',
  returned: 'returned',
  refunded: 'refunded',
} as const;

/** Routed: the platform owes us the gross, which is the freelancer's money on its way. */
export function routedLines(p: { freelancerId: string; platform: string; gross: Decimal }): PostingLine[] {
  return [
    { account: Accounts.platformReceivable(p.platform), side: 'debit', amount: p.gross },
    { account: Accounts.freelancerInTransit(p.freelancerId), side: 'credit', amount: p.gross },
  ];
}

/** Sent: a provider accepted the transfer, so the gross moved from the platform to the provider. */
export function sentLines(p: { platform: string; provider: string; gross: Decimal }): PostingLine[] {
  return [
    { account: Accounts.providerInTransit(p.provider), side: 'debit', amount: p.gross },
    { account: Accounts.platformReceivable(p.platform), side: 'credit', amount: p.gross },
  ];
}

/**
 * Settled: the provider paid out the gross, the net into the freelancer's dollar account and each fee
 * component to itself; the freelancer's money is no longer in transit.
 */
export function settledLines(p: {
  freelancerId: string;
  provider: string;
  gross: Decimal;
  fees: FeeBreakdown;
  net: Decimal;
}): PostingLine[] {
  assertNet(p.gross, p.fees, p.net);
  return [
    { account: Accounts.freelancerInTransit(p.freelancerId), side: 'debit', amount: p.gross },
    { account: Accounts.freelancerSettled(p.freelancerId), side: 'credit', amount: p.net },
    ...feeLines(p.fees).map((fee): PostingLine => ({
      account: Accounts.providerFees(p.provider, fee.component),
      side: 'credit',
      amount: fee.amount,
    })),
    { account: Accounts.providerDisbursed(p.provider), side: 'debit', amount: p.gross },
    { account: Accounts.providerInTransit(p.provider), side: 'credit', amount: p.gross },
  ];
}

/**
 * Returned: the net bounced back from the freelancer's bank to the provider. Settled drops by the net;
 * the money now sits with the provider (provider_returns), held for the freelancer (freelancer_returned)
 * until ops send it again or give it back. The provider keeps its fees.
 */
export function returnedLines(p: { freelancerId: string; provider: string; net: Decimal }): PostingLine[] {
  return [
    { account: Accounts.freelancerSettled(p.freelancerId), side: 'debit', amount: p.net },
    { account: Accounts.freelancerReturned(p.freelancerId), side: 'credit', amount: p.net },
    { account: Accounts.providerReturns(p.provider), side: 'debit', amount: p.net },
    { account: Accounts.providerDisbursed(p.provider), side: 'credit', amount: p.net },
  ];
}

/**
 * Refunded: ops gave the returned net back to the platform it came from. The freelancer no longer has it held
 * for them; the provider paid it back out (provider_refunded), to the platform (platform_refunded).
 */
export function refundedLines(p: {
  freelancerId: string;
  provider: string;
  platform: string;
  net: Decimal;
}): PostingLine[] {
  return [
    { account: Accounts.freelancerReturned(p.freelancerId), side: 'debit', amount: p.net },
    { account: Accounts.platformRefunded(p.platform), side: 'credit', amount: p.net },
    { account: Accounts.providerRefunded(p.provider), side: 'debit', amount: p.net },
    { account: Accounts.providerReturns(p.provider), side: 'credit', amount: p.net },
  ];
}

/** net = gross − total, each in whole cents, with something left for the freelancer. */
export function assertNet(gross: Decimal, fees: FeeBreakdown, net: Decimal): void {
  for (const [name, value] of [
    ['gross', gross],
    ['net', net],
    ['fees.total', fees.total],
  ] as const) {
    if (!Decimal.isDecimal(value) || !value.isFinite() || !value.equals(value.toDecimalPlaces(2))) {
      throw new LedgerError(`${name} must be a Decimal in whole cents`);
    }
  }
  if (!net.isPositive() || net.isZero() || !gross.minus(fees.total).equals(net)) {
    throw new LedgerError(
      `net ${net.toString()} is not gross ${gross.toString()} minus fees ${fees.total.toString()}, or not positive`,
    );
  }
}
