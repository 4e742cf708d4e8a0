/**
 * A provider's circuit breaker as stored (shared by every process): `closed`, or `open` since `openedAt`.
 * After the cool-down an open breaker is half-open: one trial send may go (`trialAt` marks when it was
 * granted); its success closes the breaker, its failure opens it again.
 */
export interface BreakerRecord {
  state: 'closed' | 'open';
  openedAt: number | null;
  trialAt: number | null;
}

export const BREAKER_PHASES = ['closed', 'open', 'half_open', 'trial_in_flight'] as const;
export type BreakerPhase = (typeof BREAKER_PHASES)[number];

export const CLOSED_BREAKER: BreakerRecord = { state: 'closed', openedAt: null, trialAt: null };

/** How long past SEND_TIMEOUT_MS a granted trial may take to report its outcome (as the pipeline's send window). */
export const TRIAL_REPORT_MARGIN_MS = 5_000;

/**
 * How long a granted trial holds the half-open breaker: while its send may still be on its way (a send is given
 * up after `sendTimeoutMs`, then reported), and at least one cool-down. A shorter hold would let a second trial
 * go to a provider that hangs while the first still waits for it.
 */
export function trialLeaseMs(cooldownMs: number, sendTimeoutMs: number): number {
  return Math.max(cooldownMs, sendTimeoutMs + TRIAL_REPORT_MARGIN_MS);
}

/**
 * Where a breaker stands at `nowMs`. A granted trial that never reported back stops blocking once its lease
 * (`trialLeaseMs`) has passed, so a worker that died mid-send cannot keep a provider shut for ever.
 */
export function breakerPhase(
  record: BreakerRecord,
  nowMs: number,
  cooldownMs: number,
  leaseMs: number = cooldownMs,
): BreakerPhase {
  if (record.state !== 'open' || record.openedAt === null) return 'closed';
  if (nowMs < record.openedAt + cooldownMs) return 'open';
  if (record.trialAt !== null && nowMs < record.trialAt + leaseMs) return 'trial_in_flight';
  return 'half_open';
}

/** Whether new sends (and so new routing decisions) may use the provider. */
export function breakerAllowsTraffic(phase: BreakerPhase): boolean {
  return phase === 'closed' || phase === 'half_open';
}

/** Reads the stored hash fields; anything missing or malformed reads as closed. */
export function parseBreakerRecord(fields: (string | null)[]): BreakerRecord {
  const [state, openedAt, trialAt] = fields;
  const opened = openedAt === null ? NaN : Number(openedAt);
  if (state !== 'open' || !Number.isFinite(opened)) return CLOSED_BREAKER;
  const trial = trialAt === null ? NaN : Number(trialAt);
  return { state: 'open', openedAt: opened, trialAt: Number.isFinite(trial) ? trial : null };
}
