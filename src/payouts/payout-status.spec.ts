import fc from 'fast-check';
import {
  canTransition,
  fromStates,
  isTerminal,
  nextCandidate,
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
    expect(fromStates('received')).toEqual(['failed']);
  });

  it('no random walk leaves a terminal state except settled → returned', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PAYOUT_STATUSES), { maxLength: 30 }), (steps) => {
        let state: PayoutStatus = 'received';
        for (const next of steps) {
          if (!canTransition(state, next)) continue;
          if (isTerminal(state))
            expect([
              ['settled', 'returned'],
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
});
