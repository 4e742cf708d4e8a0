import fc from 'fast-check';
import {
  canTransition,
  fromStates,
  isTerminal,
  nextCandidate,
  returnCheckDelay,
  PAYOUT_STATUSES,
  PayoutStatus,
} from './payout-status';

describe('payout state machine', () => {
  it('moves forward along the contract path', () => {
    expect(canTransition('received', 'routed')).toBe(true);
    expect(canTransition('routed', 'sending')).toBe(true);
    expect(canTransition('sending', 'settled')).toBe(true);
    expect(canTransition('sending', 'failed')).toBe(true);
    expect(canTransition('received', 'unmatched')).toBe(true);
    expect(canTransition('unmatched', 'routed')).toBe(true);
  });

  it('never leaves settled except by a return, and never moves backwards', () => {
    expect(canTransition('settled', 'sending')).toBe(false);
    expect(canTransition('settled', 'failed')).toBe(false);
    expect(canTransition('sending', 'routed')).toBe(false);
    expect(canTransition('returned', 'settled')).toBe(false);
    expect(fromStates('settled')).toEqual(['sending']);
  });

  it('only ops retry re-opens a failed payout', () => {
    expect(fromStates('received')).toEqual(['unmatched', 'failed']);
  });

  it('refunds only returned money, and a refund is the end', () => {
    expect(fromStates('refunded')).toEqual(['returned']);
    expect(isTerminal('refunded')).toBe(true);
    expect(PAYOUT_STATUSES.filter((to) => canTransition('refunded', to))).toEqual([]);
  });

  it('no random walk leaves a terminal state except settled → returned → refunded, or an ops retry', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PAYOUT_STATUSES), { maxLength: 30 }), (steps) => {
        let state: PayoutStatus = 'received';
        for (const next of steps) {
          if (!canTransition(state, next)) continue;
          if (isTerminal(state))
            expect([
              ['settled', 'returned'],
              ['returned', 'refunded'],
              ['failed', 'received'],
            ]).toContainEqual([state, next]);
          state = next;
        }
      }),
    );
  });

  describe(nextCandidate.name, () => {
    const ranked = [
      { routeId: 'a', provider: 'p1' },
      { routeId: 'b', provider: 'p2' },
      { routeId: 'c', provider: 'p3' },
    ];

    it('takes the best untried route of a usable provider', () => {
      expect(nextCandidate(ranked, new Set(['a']), () => true)?.routeId).toBe('b');
      expect(nextCandidate(ranked, new Set(['a']), (p) => p !== 'p2')?.routeId).toBe('c');
      expect(nextCandidate(ranked, new Set(['a', 'b', 'c']), () => true)).toBeNull();
    });
  });

  describe('returnCheckDelay', () => {
    const schedule = (baseMs: number, windowMs: number) => {
      const delays: number[] = [];
      for (let check = 0; ; check++) {
        const delay = returnCheckDelay(check, baseMs, windowMs);
        if (delay === null) return delays;
        delays.push(delay);
      }
    };

    it('doubles the gap each time and ends with a check exactly at the end of the window', () => {
      expect(schedule(60, 1000)).toEqual([60, 120, 240, 480, 100]);
      expect(schedule(100, 700)).toEqual([100, 200, 400]);
      expect(schedule(0, 1000)).toEqual([0]);
    });

    it('covers the whole window for any delay and window', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 100_000 }),
          fc.integer({ min: 0, max: 10_000_000 }),
          (base, window) => {
            const delays = schedule(base, window);
            expect(delays.reduce((a, b) => a + b, 0)).toBe(window);
            for (let i = 1; i < delays.length - 1; i++) expect(delays[i]).toBe(delays[i - 1] * 2);
          },
        ),
      );
    });
  });
});
