import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The sandbox's simulated network latency. One place to wait, so shutdown can cut every wait short and
 * no timer outlives the app: a send caught mid-wait then simply answers early, as a fast provider would.
 */
@Injectable()
export class SandboxDelay implements OnModuleDestroy {
  private readonly stop = new AbortController();

  async wait(ms: number): Promise<void> {
    if (ms <= 0 || this.stop.signal.aborted) return;
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }

  onModuleDestroy(): void {
    this.stop.abort();
  }
}
