/** Signed `payout.available` deliveries as a platform sends them, for the intake benchmarks. */
import { Webhook } from 'standardwebhooks';

export interface PayoutEvent {
  payoutId: string;
  freelancerRef: string;
  amount: string;
  description: string;
}

export interface SignedDelivery {
  headers: Record<string, string>;
  body: string;
}

/** A USD payout from Acme Inc (US) for software development, signed now under webhook id `id`. */
export function signedPayoutDelivery(signer: Webhook, id: string, event: PayoutEvent): SignedDelivery {
  const body = JSON.stringify({
    type: 'payout.available',
    timestamp: new Date().toISOString(),
    data: {
      payoutId: event.payoutId,
      freelancerRef: event.freelancerRef,
      amount: event.amount,
      currency: 'USD',
      client: { name: 'Acme Inc', country: 'US' },
      description: event.description,
      serviceCategory: 'software_development',
    },
  });
  const now = new Date();
  return {
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signer.sign(id, now, body),
    },
    body,
  };
}
