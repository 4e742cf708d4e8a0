import {
  breakerAllowsTraffic,
  breakerPhase,
  CLOSED_BREAKER,
  parseBreakerRecord,
  trialLeaseMs,
} from './breaker';

describe('breakerPhase', () => {
  const cooldownMs = 30_000;
  const opened = { state: 'open' as const, openedAt: 1_000_000, trialAt: null };

  it('is closed without a stored open state', () => {
    expect(breakerPhase(CLOSED_BREAKER, 5, cooldownMs)).toBe('closed');
  });

  it('stays open for the cool-down, then lets one trial through', () => {
    expect(breakerPhase(opened, 1_000_000, cooldownMs)).toBe('open');
    expect(breakerPhase(opened, 1_029_999, cooldownMs)).toBe('open');
    expect(breakerPhase(opened, 1_030_000, cooldownMs)).toBe('half_open');
    expect(breakerPhase({ ...opened, trialAt: 1_030_000 }, 1_030_001, cooldownMs)).toBe('trial_in_flight');
  });

  it('lets another trial go when a granted one never reported back within a cool-down', () => {
    expect(breakerPhase({ ...opened, trialAt: 1_030_000 }, 1_060_000, cooldownMs)).toBe('half_open');
  });

  it('holds a granted trial while its send may still be on its way, even past a shorter cool-down', () => {
    const lease = trialLeaseMs(5_000, 30_000);
    expect(lease).toBe(35_000);
    const trial = { ...opened, trialAt: 1_005_000 };
    expect(breakerPhase(trial, 1_010_000, 5_000, lease)).toBe('trial_in_flight');
    expect(breakerPhase(trial, 1_039_999, 5_000, lease)).toBe('trial_in_flight');
    expect(breakerPhase(trial, 1_040_000, 5_000, lease)).toBe('half_open');
    expect(trialLeaseMs(60_000, 30_000)).toBe(60_000);
  });

  it('allows traffic only when closed or half-open', () => {
    expect(breakerAllowsTraffic('closed')).toBe(true);
    expect(breakerAllowsTraffic('half_open')).toBe(true);
    expect(breakerAllowsTraffic('open')).toBe(false);
    expect(breakerAllowsTraffic('trial_in_flight')).toBe(false);
  });
});

describe('parseBreakerRecord', () => {
  it('reads stored fields and treats missing or malformed ones as closed', () => {
    expect(parseBreakerRecord(['open', '1000', null])).toEqual({
      state: 'open',
      openedAt: 1000,
      trialAt: null,
    });
    expect(parseBreakerRecord(['open', '1000', '2000'])).toEqual({
      state: 'open',
      openedAt: 1000,
      trialAt: 2000,
    });
    expect(parseBreakerRecord([null, null, null])).toEqual(CLOSED_BREAKER);
    expect(parseBreakerRecord(['open', 'garbage', null])).toEqual(CLOSED_BREAKER);
    expect(parseBreakerRecord(['closed', '1000', null])).toEqual(CLOSED_BREAKER);
  });
});
