/**
 * The chart of accounts (docs/ledger.md). An account is named `<type>:<segment>[:<segment>]`, created
 * on first use. Debit-normal accounts say where the money is; credit-normal ones say whose it is.
 */
export type Side = 'debit' | 'credit';

export const FEE_COMPONENTS = ['fixed', 'percent', 'fx', 'intermediary'] as const;
export type FeeComponent = (typeof FEE_COMPONENTS)[number];

interface AccountType {
  normalSide: Side;
  segments: number;
}

export const ACCOUNT_TYPES: Record<string, AccountType> = {
  platform_receivable: { normalSide: 'debit', segments: 1 },
  provider_in_transit: { normalSide: 'debit', segments: 1 },
  provider_disbursed: { normalSide: 'debit', segments: 1 },
  provider_returns: { normalSide: 'debit', segments: 1 },
  provider_refunded: { normalSide: 'debit', segments: 1 },
  freelancer_in_transit: { normalSide: 'credit', segments: 1 },
  freelancer_settled: { normalSide: 'credit', segments: 1 },
  freelancer_returned: { normalSide: 'credit', segments: 1 },
  provider_fees: { normalSide: 'credit', segments: 2 },
  platform_refunded: { normalSide: 'credit', segments: 1 },
};

const SEGMENT = /^[a-z0-9_.-]{1,80}$/;

export class LedgerError extends Error {}

function account(type: string, ...segments: string[]): string {
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) {
      throw new LedgerError(
        `"${segment}" cannot name a ledger account (lower-case letters, digits, _ . - only)`,
      );
    }
  }
  return [type, ...segments].join(':');
}

export const Accounts = {
  platformReceivable: (platform: string) => account('platform_receivable', platform),
  providerInTransit: (provider: string) => account('provider_in_transit', provider),
  providerDisbursed: (provider: string) => account('provider_disbursed', provider),
  providerReturns: (provider: string) => account('provider_returns', provider),
  providerRefunded: (provider: string) => account('provider_refunded', provider),
  platformRefunded: (platform: string) => account('platform_refunded', platform),
  providerFees: (provider: string, component: FeeComponent) => account('provider_fees', provider, component),
  freelancerInTransit: (freelancerId: string) => account('freelancer_in_transit', freelancerId.toLowerCase()),
  freelancerSettled: (freelancerId: string) => account('freelancer_settled', freelancerId.toLowerCase()),
  freelancerReturned: (freelancerId: string) => account('freelancer_returned', freelancerId.toLowerCase()),
};

/** The side on which an account of the chart grows; throws for a name outside the chart. */
export function normalSideOf(name: string): Side {
  const [type, ...segments] = name.split(':');
  const known = Object.hasOwn(ACCOUNT_TYPES, type) ? ACCOUNT_TYPES[type] : undefined;
  if (!known || segments.length !== known.segments || !segments.every((s) => SEGMENT.test(s))) {
    throw new LedgerError(`"${name}" is not an account of the chart (see docs/ledger.md)`);
  }
  if (type === 'provider_fees' && !(FEE_COMPONENTS as readonly string[]).includes(segments[1])) {
    throw new LedgerError(`"${segments[1]}" is not a fee component`);
  }
  return known.normalSide;
}
