import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import { QUEUES } from './queues';

/**
 * A worker's errors (Redis unreachable, a stalled-jobs check that failed) as one log line each: without a
 * listener BullMQ prints each one's stack trace on standard error, outside the JSON log.
 */
export function logWorkerErrors(worker: Worker, logger: Logger): void {
  worker.on('error', (error) => logger.warn(`Worker of ${worker.name} reported: ${error.message}`));
}

/**
 * Every queue reports a lost Redis connection as one log line: BullMQ prints a stack trace when a queue has
 * no error listener. Listeners are attached as soon as the queues exist, in this constructor.
 */
@Injectable()
export class QueueErrorsLogger {
  private readonly logger = new Logger('Queues');

  constructor(
    @InjectQueue(QUEUES.routePayout) route: Queue,
    @InjectQueue(QUEUES.sendPayout) send: Queue,
    @InjectQueue(QUEUES.settlePayout) settle: Queue,
    @InjectQueue(QUEUES.partnerWebhooks) partnerWebhooks: Queue,
  ) {
    for (const queue of [route, send, settle, partnerWebhooks]) {
      queue.on('error', (error) =>
        this.logger.warn(`Queue ${queue.name} cannot reach Redis: ${error.message}`),
      );
    }
  }
}
