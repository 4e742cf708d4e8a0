import type { FieldError } from '../../common/problem';
import type { PayoutInstruction } from '../../payouts/payout-instruction';

/** What a signed payload turned out to be. */
export type AdaptedEvent =
  | { kind: 'payout'; type: string; instruction: PayoutInstruction }
  | { kind: 'ignored'; type: string }
  | { kind: 'rejected'; type: string | null; errors: FieldError[] };

/**
 * One payload shape (a platform family's event format) turned into a payout instruction. Pure: no I/O, so
 * every rule is unit-tested; the intake service decides what to store and answer.
 */
export interface PayoutEventAdapter {
  adapt(payload: unknown): AdaptedEvent;
}

export const rejected = (type: string | null, errors: FieldError[]): AdaptedEvent => ({
  kind: 'rejected',
  type,
  errors,
});

/** The fields an adapter read from its payload; each is undefined when missing or invalid (its error recorded). */
export type ReadPayoutFields = Partial<Omit<PayoutInstruction, 'client'>> & {
  clientName?: string;
  clientCountry?: string;
};

/** The payout instruction when every field was read and no rule failed; otherwise the errors collected. */
export function payoutOrRejected(type: string, errors: FieldError[], fields: ReadPayoutFields): AdaptedEvent {
  const {
    platformPayoutId,
    freelancerRef,
    gross,
    currency,
    clientName,
    clientCountry,
    description,
    serviceCategory,
  } = fields;
  if (
    errors.length ||
    !platformPayoutId ||
    !freelancerRef ||
    !gross ||
    !currency ||
    !clientName ||
    !clientCountry ||
    !description ||
    !serviceCategory
  ) {
    return rejected(type, errors);
  }
  return {
    kind: 'payout',
    type,
    instruction: {
      platformPayoutId,
      freelancerRef,
      gross,
      currency,
      client: { name: clientName, country: clientCountry },
      description,
      serviceCategory,
    },
  };
}
