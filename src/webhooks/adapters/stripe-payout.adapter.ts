import { fromMinorUnits } from '../../money/money';
import { ServiceCategory } from '../../payouts/payout-instruction';
import { AdaptedEvent, PayoutEventAdapter, payoutOrRejected, rejected } from './payout-event-adapter';
import { stripeEventId } from '../signatures/stripe.verifier';
import { isObject, PayloadReader, storedType } from './payload-reader';

/** The Stripe event types that announce money for a connected account's freelancer. */
export const STRIPE_PAYOUT_TYPES: readonly string[] = ['transfer.created', 'payout.paid'];

/**
 * A Stripe event object: the transfer or payout in `data.object`, amounts in integer cents with a
 * lower-case currency (125000 + "usd" is 1250.00 USD), our fields in `metadata`.
 */
export class StripePayoutAdapter implements PayoutEventAdapter {
  adapt(payload: unknown): AdaptedEvent {
    if (!isObject(payload) || typeof payload.type !== 'string' || payload.type === '') {
      return rejected(null, [{ field: 'type', message: 'type must be a non-empty string' }]);
    }
    const type = storedType(payload.type);
    if (!STRIPE_PAYOUT_TYPES.includes(payload.type)) return { kind: 'ignored', type };

    const r = new PayloadReader();
    if (stripeEventId(payload) === null)
      r.fail('id', 'id must be the Stripe event id (1 to 255 printable characters)');
    const data = r.object(payload.data, 'data');
    const object = data ? r.object(data.object, 'data.object') : undefined;
    if (!object) return rejected(type, r.errors);

    const platformPayoutId = r.identifier(object.id, 'data.object.id', 255);
    const gross = Number.isSafeInteger(object.amount)
      ? r.gross(fromMinorUnits(object.amount as number), 'data.object.amount', ' (100000000 cents)')
      : r.fail('data.object.amount', 'data.object.amount must be an integer number of cents');
    const currency = r.usd(object.currency, 'data.object.currency', 'usd');
    // Stripe's own field, often null: without one, the invoice names the service category instead.
    const given = object.description;
    const description =
      given === null || given === undefined || (typeof given === 'string' && given.trim() === '')
        ? null
        : r.text(given, 'data.object.description', 1000);
    const metadata = r.object(object.metadata, 'data.object.metadata');
    const freelancerRef = metadata
      ? r.identifier(metadata.freelancer_ref, 'data.object.metadata.freelancer_ref', 100)
      : undefined;
    const clientName = metadata
      ? r.text(metadata.client_name, 'data.object.metadata.client_name', 200)
      : undefined;
    const clientCountry = metadata
      ? r.country(metadata.client_country, 'data.object.metadata.client_country')
      : undefined;
    const serviceCategory = metadata
      ? r.serviceCategory(metadata.service_category, 'data.object.metadata.service_category')
      : undefined;

    return payoutOrRejected(type, r.errors, {
      platformPayoutId,
      freelancerRef,
      gross,
      currency,
      clientName,
      clientCountry,
      description: description === null ? serviceDescription(serviceCategory) : description,
      serviceCategory,
    });
  }
}

/** What an invoice says was exported, by service category, when Stripe gives no description. */
const SERVICES: Record<ServiceCategory, string> = {
  software_development: 'Software development services',
  web_development: 'Web development services',
  data_analysis: 'Data analysis services',
  it_support: 'IT support services',
  graphic_design: 'Graphic design services',
  digital_marketing: 'Digital marketing services',
  content_writing: 'Content writing services',
  virtual_assistance: 'Virtual assistance services',
  online_teaching: 'Online teaching services',
  other: 'Freelance services',
};

function serviceDescription(category: ServiceCategory | undefined): string | undefined {
  return category === undefined ? undefined : SERVICES[category];
}
