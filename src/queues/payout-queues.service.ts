import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import {
  DEFAULT_JOB_OPTIONS,
  JobIds,
  QUEUES,
  RoutePayoutJobData,
  SendPayoutJobData,
  SettlePayoutJobData,
} from './queues';

/** How long an enqueue may wait for Redis before the caller carries on (the outbox sweeper catches up). */
const ENQUEUE_TIMEOUT_MS = 1500;

@Injectable()
export class PayoutQueues {
  constructor(
    @InjectQueue(QUEUES.routePayout) readonly route: Queue<RoutePayoutJobData>,
    @InjectQueue(QUEUES.sendPayout) readonly send: Queue<SendPayoutJobData>,
    @InjectQueue(QUEUES.settlePayout) readonly settle: Queue<SettlePayoutJobData>,
  ) {}

  get all(): Queue[] {
    return [this.route, this.send, this.settle] as Queue[];
  }

  enqueueRoute(data: RoutePayoutJobData, jobId: string, delayMs = 0): Promise<void> {
    return this.add(this.route as Queue, 'route', data, {
      ...DEFAULT_JOB_OPTIONS['route-payout'],
      jobId,
      delay: delayMs,
    });
  }

  enqueueSend(data: SendPayoutJobData, options: JobsOptions = {}): Promise<void> {
    return this.add(this.send as Queue, 'send', data, {
      ...DEFAULT_JOB_OPTIONS['send-payout'],
      jobId: JobIds.send(data.attemptId),
      ...options,
    });
  }

  enqueueSettle(
    data: SettlePayoutJobData,
    delayMs: number,
    jobId = JobIds.settle(data.attemptId),
  ): Promise<void> {
    return this.add(this.settle as Queue, 'settle', data, {
      ...DEFAULT_JOB_OPTIONS['settle-payout'],
      jobId,
      delay: delayMs,
    });
  }

  private async add(queue: Queue, name: string, data: unknown, options: JobsOptions): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        queue.add(name, data, options),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not take the ${queue.name} job in time`)),
            ENQUEUE_TIMEOUT_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
