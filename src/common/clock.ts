import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';

/** The time source; tests replace it to move time without sleeping. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }

  /** Milliseconds on a monotonic scale: for measuring ages, which a wall-clock step must not stretch or shrink. */
  monotonicMs(): number {
    return performance.now();
  }
}
