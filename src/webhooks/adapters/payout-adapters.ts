import { PayoutEventAdapter } from './payout-event-adapter';
import { StandardPayoutAdapter } from './standard-payout.adapter';
import { StripePayoutAdapter } from './stripe-payout.adapter';

const standard = new StandardPayoutAdapter();
const stripe = new StripePayoutAdapter();

/** The payload shape follows the platform (Stripe sends Stripe events whatever signs them). */
export function adapterFor(platform: string): PayoutEventAdapter {
  return platform === 'stripe' ? stripe : standard;
}
