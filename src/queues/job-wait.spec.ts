import { dueWaitSeconds } from './job-wait';

describe(dueWaitSeconds.name, () => {
  it('counts from when the job was queued, or from the end of its delay, to when a worker took it', () => {
    expect(dueWaitSeconds({ timestamp: 1_000, attemptsMade: 0, processedOn: 1_250 }, 9_999)).toBe(0.25);
    expect(
      dueWaitSeconds({ timestamp: 1_000, delay: 5_000, attemptsMade: 0, processedOn: 6_500 }, 9_999),
    ).toBe(0.5);
    expect(dueWaitSeconds({ timestamp: 1_000, attemptsMade: 0 }, 1_100)).toBe(0.1);
  });

  it('never answers a negative wait (clocks of two processes), and skips retries', () => {
    expect(dueWaitSeconds({ timestamp: 2_000, attemptsMade: 0, processedOn: 1_990 }, 9_999)).toBe(0);
    expect(dueWaitSeconds({ timestamp: 1_000, attemptsMade: 1, processedOn: 1_250 }, 9_999)).toBeNull();
  });
});
