import { MoneyParseError, parseAmount } from '../../money/money';
import { AdaptedEvent, PayoutEventAdapter, payoutOrRejected, rejected } from './payout-event-adapter';
import { isObject, PayloadReader, storedType } from './payload-reader';

export const STANDARD_PAYOUT_TYPE = 'payout.available';

/**
 * The payload every platform but Stripe sends (CONTRACT.md §4): `type: "payout.available"`, amounts as
 * decimal strings, the freelancer and the foreign client named in `data`.
 */
export class StandardPayoutAdapter implements PayoutEventAdapter {
  adapt(payload: unknown): AdaptedEvent {
    if (!isObject(payload) || typeof payload.type !== 'string' || payload.type === '') {
      return rejected(null, [{ field: 'type', message: 'type must be a non-empty string' }]);
    }
    const type = storedType(payload.type);
    if (payload.type !== STANDARD_PAYOUT_TYPE) return { kind: 'ignored', type };

    const r = new PayloadReader();
    const data = r.object(payload.data, 'data');
    if (!data) return rejected(type, r.errors);
    const platformPayoutId = r.identifier(data.payoutId, 'data.payoutId', 255);
    const freelancerRef = r.identifier(data.freelancerRef, 'data.freelancerRef', 100);
    let gross;
    try {
      gross = r.gross(parseAmount(data.amount), 'data.amount');
    } catch (error) {
      if (!(error instanceof MoneyParseError)) throw error;
      r.fail('data.amount', `data.amount ${error.message}`);
    }
    const currency = r.usd(data.currency, 'data.currency', 'USD');
    const client = r.object(data.client, 'data.client');
    const clientName = client ? r.text(client.name, 'data.client.name', 200) : undefined;
    const clientCountry = client ? r.country(client.country, 'data.client.country') : undefined;
    const description = r.text(data.description, 'data.description', 1000);
    const serviceCategory = r.serviceCategory(data.serviceCategory, 'data.serviceCategory');

    return payoutOrRejected(type, r.errors, {
      platformPayoutId,
      freelancerRef,
      gross,
      currency,
      clientName,
      clientCountry,
      description,
      serviceCategory,
    });
  }
}
