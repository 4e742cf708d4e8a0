import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The sandbox's simulated network latency. One place to wait, so shutdown can cut every wait short and
 * no timer outlives the app: a send caught mid-wait then simply answers early, as a fast provider would.
 */
@Injectable()
export class SandboxDelay implements OnModuleDestroy {
  private readonly stop = new AbortController();

  /** Waits `ms`, or less when the app stops or the caller's `signal` is aborted. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    const until = signal ? AbortSignal.any([this.stop.signal, signal]) : this.stop.signal;
    if (ms <= 0 || until.aborted) return;
    await sleep(ms, undefined, { signal: until }).catch(() => undefined);
  }

  onModuleDestroy(): void {
    this.stop.abort();
  }
}
