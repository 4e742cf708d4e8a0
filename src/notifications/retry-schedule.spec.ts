import { maxAttempts, retryDelayMs, retryDelays } from './retry-schedule';

describe('partner webhook retry schedule', () => {
  const defaults = { baseMs: 30_000, capMs: 3_600_000, windowMs: 24 * 3_600_000 };

  it('doubles from the base and stops growing at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => retryDelayMs(defaults, n))).toEqual([
      30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000,
    ]);
    expect(retryDelayMs(defaults, 500)).toBe(3_600_000);
  });

  it('keeps retrying for at least 24 hours with the defaults', () => {
    const delays = retryDelays(defaults);
    const total = delays.reduce((sum, d) => sum + d, 0);
    expect(total).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(total - delays[delays.length - 1]).toBeLessThan(24 * 3_600_000);
    expect(maxAttempts(defaults)).toBe(31);
    expect(total).toBe(24 * 3_600_000 + 3 * 60_000 + 30_000);
  });

  it('covers the window for other settings too', () => {
    for (const policy of [
      { baseMs: 1, capMs: 10, windowMs: 1000 },
      { baseMs: 5_000, capMs: 5_000, windowMs: 86_400_000 },
      { baseMs: 60_000, capMs: 7_200_000, windowMs: 3 * 86_400_000 },
    ]) {
      const total = retryDelays(policy).reduce((sum, d) => sum + d, 0);
      expect(total).toBeGreaterThanOrEqual(policy.windowMs);
    }
  });
});
