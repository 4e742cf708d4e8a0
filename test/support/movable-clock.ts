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
