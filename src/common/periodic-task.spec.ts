import { Logger } from '@nestjs/common';
import { PeriodicTask } from './periodic-task';

describe(PeriodicTask.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs a first pass that long after the start when asked, then every interval, and none after stop', async () => {
    let passes = 0;
    const task = new PeriodicTask(new Logger('test'), 'failed', async () => {
      passes += 1;
      return null;
    });
    task.start(1000, 10);
    await jest.advanceTimersByTimeAsync(9);
    expect(passes).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(passes).toBe(1);
    await jest.advanceTimersByTimeAsync(990);
    expect(passes).toBe(2);
    await task.stop();
    await jest.advanceTimersByTimeAsync(5000);
    expect(passes).toBe(2);
  });

  it('does not start a first pass once stopped before it was due', async () => {
    let passes = 0;
    const task = new PeriodicTask(new Logger('test'), 'failed', async () => {
      passes += 1;
      return null;
    });
    task.start(1000, 500);
    await task.stop();
    await jest.advanceTimersByTimeAsync(5000);
    expect(passes).toBe(0);
  });
});
