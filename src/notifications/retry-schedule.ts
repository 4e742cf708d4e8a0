/**
 * When a failed webhook delivery is tried again. The delay after failed attempt n (1-based) is
 * min(base × 2^(n-1), cap); attempts continue until the delays add up to at least the window, so a partner
 * that is down for the whole window still gets every event once it is back within it.
 *
 * With the defaults (base 30 s, cap 1 h, window 24 h): 30 s, 1 min, 2 min, 4 min, 8 min, 16 min, 32 min, then
 * hourly; 31 attempts in all, the last one 24 h 3 min 30 s after the first.
 */
export interface RetryPolicy {
  baseMs: number;
  capMs: number;
  windowMs: number;
}

/** The delay after failed attempt `attempt` (1-based). */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  const exponent = Math.min(attempt - 1, 40);
  return Math.min(policy.baseMs * 2 ** exponent, policy.capMs);
}

/** Every delay between attempts, in order; the delivery gets one more attempt than there are delays. */
export function retryDelays(policy: RetryPolicy): number[] {
  const delays: number[] = [];
  let total = 0;
  while (total < policy.windowMs) {
    const delay = retryDelayMs(policy, delays.length + 1);
    delays.push(delay);
    total += delay;
  }
  return delays;
}

/** How many attempts a delivery gets before it is marked failed. */
export function maxAttempts(policy: RetryPolicy): number {
  return retryDelays(policy).length + 1;
}

/** More attempts than this per delivery is a schedule mistyped (a cap of 1 ms, say), refused at start. */
export const MAX_DELIVERY_ATTEMPTS = 1000;

/** Whether the policy covers its window within MAX_DELIVERY_ATTEMPTS (counted without building the schedule). */
export function fitsAttemptLimit(policy: RetryPolicy): boolean {
  let total = 0;
  for (let attempt = 1; attempt < MAX_DELIVERY_ATTEMPTS; attempt += 1) {
    total += retryDelayMs(policy, attempt);
    if (total >= policy.windowMs) return true;
  }
  return false;
}
