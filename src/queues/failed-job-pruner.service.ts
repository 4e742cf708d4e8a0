import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { PayoutQueues } from './payout-queues.service';

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
/** Jobs removed per call to Redis: each call is one script, which holds Redis while it runs. */
const BATCH = 500;

/**
 * A pipeline job that failed is kept (`removeOnFail: false`) so that ops can read on the dashboard why a step
 * gave up; the payout itself is safe in Postgres, where the sweeper moves it on. Kept for ever they would fill
 * Redis, so every hour the worker removes those that failed more than FAILED_JOB_RETENTION_DAYS ago.
 */
@Injectable()
export class FailedJobPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FailedJobPruner.name);
  private readonly task = new PeriodicTask(this.logger, 'Removing old failed jobs failed', async () => {
    const removed = await this.prune(this.config.failedJobRetentionMs);
    return removed > 0 ? `Removed ${removed} pipeline jobs that failed over the retention period ago.` : null;
  });

  constructor(
    private readonly queues: PayoutQueues,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.task.start(PRUNE_INTERVAL_MS);
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** Removes the pipeline jobs that failed more than `olderThanMs` ago; answers how many. */
  async prune(olderThanMs: number): Promise<number> {
    let removed = 0;
    for (const queue of this.queues.all) {
      for (;;) {
        const ids = await queue.clean(olderThanMs, BATCH, 'failed');
        removed += ids.length;
        if (ids.length < BATCH) break;
      }
    }
    return removed;
  }
}
