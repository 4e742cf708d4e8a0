import fc from 'fast-check';
import {
  chooseOutcome,
  defaultSettings,
  drawUniform,
  SendOutcome,
  transferStateAt,
} from './sandbox-behaviour';

describe('sandbox behaviour', () => {
  describe(drawUniform.name, () => {
    it('is fixed by the seed and the parts, and lies in [0, 1)', () => {
      fc.assert(
        fc.property(fc.string(), fc.string(), fc.nat(), (seed, key, n) => {
          const u = drawUniform(seed, ['outcome', 'payoneer', key, n]);
          expect(u).toBeGreaterThanOrEqual(0);
          expect(u).toBeLessThan(1);
          expect(drawUniform(seed, ['outcome', 'payoneer', key, n])).toBe(u);
        }),
      );
    });

    it('changes with the seed, the key and the call number', () => {
      const base = drawUniform('seed-a', ['outcome', 'wise', 'k1', 1]);
      expect(drawUniform('seed-b', ['outcome', 'wise', 'k1', 1])).not.toBe(base);
      expect(drawUniform('seed-a', ['outcome', 'wise', 'k2', 1])).not.toBe(base);
      expect(drawUniform('seed-a', ['outcome', 'wise', 'k1', 2])).not.toBe(base);
    });

    it('does not confuse parts that join to the same text', () => {
      expect(drawUniform('s', ['outcome', 'a:b', 'c', 1])).not.toBe(
        drawUniform('s', ['outcome', 'a', 'b:c', 1]),
      );
    });

    it('spreads evenly enough to honour a rate', () => {
      const n = 20_000;
      let below = 0;
      for (let i = 0; i < n; i += 1)
        if (drawUniform('spread', ['outcome', 'upwork', `k${i}`, 1]) < 0.3) below += 1;
      expect(below / n).toBeGreaterThan(0.28);
      expect(below / n).toBeLessThan(0.32);
    });
  });

  describe(chooseOutcome.name, () => {
    const settings = {
      ...defaultSettings('upwork', 2000),
      permanentFailureRate: 0.1,
      transientFailureRate: 0.2,
      timeoutRate: 0.3,
    };

    it.each<[number, SendOutcome]>([
      [0, 'permanent'],
      [0.0999, 'permanent'],
      [0.1001, 'transient'],
      [0.2999, 'transient'],
      [0.3001, 'timeout'],
      [0.5999, 'timeout'],
      [0.6001, 'accept'],
      [0.9999, 'accept'],
    ])('maps the draw %d to %s', (u, outcome) => {
      expect(chooseOutcome(settings, u)).toBe(outcome);
    });

    it('always accepts under the defaults', () => {
      fc.assert(
        fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (u) => {
          expect(chooseOutcome(defaultSettings('wise', 2000), u)).toBe('accept');
        }),
      );
    });

    it('lets a rate of 1 win over the kinds after it', () => {
      const all = {
        ...defaultSettings('wise', 0),
        transientFailureRate: 1,
        permanentFailureRate: 1,
        timeoutRate: 1,
      };
      fc.assert(
        fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (u) => {
          expect(chooseOutcome(all, u)).toBe('permanent');
        }),
      );
      expect(chooseOutcome({ ...all, permanentFailureRate: 0 }, 0.999)).toBe('transient');
    });
  });

  describe(transferStateAt.name, () => {
    const settlesAt = new Date('2026-11-21T10:00:02Z');
    const returnsAt = new Date('2026-11-21T10:00:04Z');
    const at = (iso: string) => new Date(iso);

    it('moves from processing to settled at settles_at', () => {
      const t = { state: 'processing' as const, settlesAt, returnsAt: null };
      expect(transferStateAt(t, at('2026-11-21T10:00:01.999Z'))).toBe('processing');
      expect(transferStateAt(t, settlesAt)).toBe('settled');
      expect(transferStateAt(t, at('2026-12-21T00:00:00Z'))).toBe('settled');
    });

    it('returns at returns_at, after settling', () => {
      const t = { state: 'processing' as const, settlesAt, returnsAt };
      expect(transferStateAt(t, at('2026-11-21T10:00:03Z'))).toBe('settled');
      expect(transferStateAt(t, returnsAt)).toBe('returned');
    });

    it('never goes back from what was recorded', () => {
      const early = at('2026-11-21T09:00:00Z');
      expect(transferStateAt({ state: 'settled', settlesAt, returnsAt }, early)).toBe('settled');
      expect(transferStateAt({ state: 'returned', settlesAt, returnsAt }, early)).toBe('returned');
    });
  });
});
