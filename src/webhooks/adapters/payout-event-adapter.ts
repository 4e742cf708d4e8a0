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
  /** The event id the payload carries itself, when the scheme puts it there (Stripe's `id`); else null. */
  eventId(payload: unknown): string | null;
  adapt(payload: unknown): AdaptedEvent;
}

export const rejected = (type: string | null, errors: FieldError[]): AdaptedEvent => ({
  kind: 'rejected',
  type,
  errors,
});
