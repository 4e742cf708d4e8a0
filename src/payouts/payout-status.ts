export const PAYOUT_STATUSES = [
  'received',
  'unmatched',
  'routed',
  'sending',
  'settled',
  'failed',
  'returned',
  'refunded',
] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

/**
 * The payout state machine. Every transition in code is a conditional UPDATE whose WHERE clause lists the
 * states it may leave (`fromStates(to)`), so a late or repeated job can never move a payout backwards.
 */
const TRANSITIONS: Record<PayoutStatus, readonly PayoutStatus[]> = {
  received: ['unmatched', 'routed', 'failed'],
  unmatched: ['received', 'routed', 'failed'],
  routed: ['sending', 'failed'],
  sending: ['settled', 'failed'],
  settled: ['returned'],
  failed: ['received'],
  returned: ['refunded'],
  refunded: [],
};

export function canTransition(from: PayoutStatus, to: PayoutStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The states from which `to` may be entered. */
export function fromStates(to: PayoutStatus): PayoutStatus[] {
  return PAYOUT_STATUSES.filter((from) => canTransition(from, to));
}

export function isTerminal(status: PayoutStatus): boolean {
  return status === 'settled' || status === 'failed' || status === 'returned' || status === 'refunded';
}

export const ATTEMPT_STATUSES = ['pending', 'accepted', 'unknown', 'settled', 'failed', 'returned'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

/**
 * The next route to try after a failure: the best-ranked quote whose route has not been tried and whose
 * provider is still usable. Candidates are ranked best first by the routing decision.
 */
export function nextCandidate<Q extends { routeId: string; provider: string }>(
  ranked: readonly Q[],
  triedRouteIds: ReadonlySet<string>,
  providerUsable: (provider: string) => boolean,
): Q | null {
  return ranked.find((q) => !triedRouteIds.has(q.routeId) && providerUsable(q.provider)) ?? null;
}

/**
 * When check `check` (from 0) of a settled transfer for a return comes, after the one before it (the first after
 * settling): `baseMs` × 2^check, the last one cut to land exactly at the end of the window; null once the window
 * is covered. With no delay at all, the one check right after settling is all there is.
 */
export function returnCheckDelay(check: number, baseMs: number, windowMs: number): number | null {
  if (check > 0 && baseMs === 0) return null;
  const elapsed = baseMs * (2 ** check - 1);
  if (check > 0 && elapsed >= windowMs) return null;
  return Math.min(baseMs * 2 ** check, windowMs - elapsed);
}
