/**
 * The events partners receive (CONTRACT.md §5), and beyond it `payout.returned` for money sent back after it
 * settled, `payout.refunded` once ops gave that money back to the platform, and `payout.unmatched` for a payout
 * whose freelancer the partner has not registered.
 */
export const PARTNER_EVENT_TYPES = [
  'payout.settled',
  'payout.failed',
  'payout.returned',
  'payout.unmatched',
  'payout.refunded',
  'invoice.issued',
  'invoice.export_status_changed',
] as const;

export type PartnerEventType = (typeof PARTNER_EVENT_TYPES)[number];

/**
 * Types an endpoint receives only when its `events` name them: an endpoint registered without `events` gets what
 * endpoints always got, so a receiver written for the contract's events meets no type it does not know.
 */
export const OPT_IN_EVENT_TYPES: readonly PartnerEventType[] = ['payout.unmatched', 'payout.refunded'];

/** What an endpoint registered without `events` receives. */
export const DEFAULT_EVENT_TYPES = PARTNER_EVENT_TYPES.filter((type) => !OPT_IN_EVENT_TYPES.includes(type));

/** The body POSTed to an endpoint; `id` is also the webhook-id header, the same on every retry. */
export interface PartnerEventBody {
  type: PartnerEventType;
  id: string;
  createdAt: string;
  data: Record<string, unknown>;
}

export function eventBody(event: {
  id: string;
  type: PartnerEventType;
  createdAt: Date;
  payload: Record<string, unknown>;
}): string {
  const body: PartnerEventBody = {
    type: event.type,
    id: event.id,
    createdAt: event.createdAt.toISOString(),
    data: event.payload,
  };
  return JSON.stringify(body);
}

/** What a failed POST is recorded as: a short reason that never holds the secret or the body. */
export function describeSendError(error: unknown, timeoutMs: number): string {
  // Duck-typed: errors thrown from node's own internals may come from another realm than this module's Error.
  if (typeof error === 'object' && error !== null && 'message' in error && 'name' in error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError')
      return `timed out after ${timeoutMs} ms`;
    const { code, cause, message } = error as NodeJS.ErrnoException & {
      cause?: { code?: string; message?: string };
    };
    const detail =
      code === 'EDESTINATIONREFUSED' ? message : (code ?? cause?.code ?? cause?.message ?? message);
    return `request failed: ${detail}`.slice(0, 500);
  }
  return 'request failed';
}
