import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PeriodicTask } from '../common/periodic-task';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { PayoutQueues } from '../queues/payout-queues.service';
import { JobIds } from '../queues/queues';
import { WebhookEventsService } from './webhook-events.service';

const BATCH = 200;
/** Intake enqueues right after its commit; rows younger than this are still in its hands. */
const GRACE_MS = 1000;

/**
 * The event table is the outbox of route-payout jobs: accepted events whose job Redis never took (it was
 * down at intake, or the process died after the commit) are queued again with the same job id, so a job that
 * did reach Redis is not queued twice. Runs in the worker role only; several workers share the work through
 * SKIP LOCKED.
 */
@Injectable()
export class WebhookOutboxSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookOutboxSweeper.name);
  private readonly task = new PeriodicTask(this.logger, 'The outbox sweep failed', async () => {
    const queued = await this.sweep();
    return queued > 0 ? `The outbox sweeper queued ${queued} stored webhook events for routing.` : null;
  });

  constructor(
    private readonly db: DataSource,
    private readonly events: WebhookEventsService,
    private readonly queues: PayoutQueues,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.role !== 'api') this.task.start(this.config.sweep.intervalMs);
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** One pass; answers how many events it handed to the queue. Stops at the first enqueue Redis refuses. */
  async sweep(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const owed = await this.events.lockUnenqueued(tx, BATCH, GRACE_MS);
      const queued: string[] = [];
      for (const event of owed) {
        try {
          await this.queues.enqueueRoute(
            { payoutId: event.payoutId, cause: `webhook ${event.eventId}` },
            JobIds.routeFromEvent(event.id),
          );
        } catch (error) {
          this.logger.warn(
            `The outbox sweeper could not queue event ${event.id}: ${(error as Error).message}`,
          );
          break;
        }
        queued.push(event.id);
      }
      await this.events.markEnqueued(tx, queued);
      return queued.length;
    });
  }
}
