import { defaultScheme, Platform } from '../platforms';
import { SignatureScheme } from '../signatures/signature-schemes';
import { AdaptedEvent } from './payout-event-adapter';
import { StandardPayoutAdapter } from './standard-payout.adapter';
import { StripePayoutAdapter } from './stripe-payout.adapter';

const standard = new StandardPayoutAdapter();
const stripe = new StripePayoutAdapter();

/**
 * What a verified payload says. Its shape follows the platform (Stripe sends Stripe events, every other platform
 * the standard payload). A connection created with the other scheme (`stripe` for Deel, say) may be sent the
 * shape that goes with its scheme instead, so there a payload the platform's shape ignores is read as the other
 * shape too: the payout types of the two (`payout.available`; `transfer.created`, `payout.paid`) never meet.
 */
export function adaptPayload(platform: Platform, scheme: SignatureScheme, payload: unknown): AdaptedEvent {
  const own = platform === 'stripe' ? stripe : standard;
  const adapted = own.adapt(payload);
  if (adapted.kind !== 'ignored' || scheme === defaultScheme(platform)) return adapted;
  const other = (own === stripe ? standard : stripe).adapt(payload);
  return other.kind === 'ignored' ? adapted : other;
}
