import { Clock } from '../../src/common/clock';

/** A clock that runs with real time plus an offset tests move forward, so time-based logic needs no sleeps. */
export class MovableClock extends Clock {
  private offsetMs = 0;

  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  override monotonicMs(): number {
    return super.monotonicMs() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** A clock that stands still until a test moves it: for logic that must see no time pass between calls. */
export class StoppedClock extends Clock {
  private atMs = Date.parse('2026-11-21T10:00:00.000Z');
  private monotonicAtMs = 0;

  override now(): Date {
    return new Date(this.atMs);
  }

  override monotonicMs(): number {
    return this.monotonicAtMs;
  }

  advance(ms: number): void {
    this.atMs += ms;
    this.monotonicAtMs += ms;
  }
}
