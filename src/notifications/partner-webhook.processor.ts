import { Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { jobLogContext, withLogContext } from '../common/log-context';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { logWorkerErrors } from '../queues/queue-errors.logger';
import { closeWorkerFirst } from '../queues/worker-shutdown';
import { PartnerWebhookJobData, QUEUES, WORKER_OPTIONS } from '../queues/queues';
import { WebhookDeliveryService } from './webhook-delivery.service';

/** Runs one delivery attempt per job; a partner answering non-2xx is an outcome, not a job failure. */
@Processor(QUEUES.partnerWebhooks, WORKER_OPTIONS)
export class PartnerWebhookProcessor
  extends WorkerHost
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger(PartnerWebhookProcessor.name);

  constructor(
    private readonly deliveries: WebhookDeliveryService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.partnerWebhooks.concurrency;
    logWorkerErrors(this.worker, this.logger);
  }

  beforeApplicationShutdown(): Promise<void> {
    return closeWorkerFirst(this.worker);
  }

  process(job: Job<PartnerWebhookJobData>): Promise<string> {
    return withLogContext(jobLogContext(job), () => this.attempt(job));
  }

  private async attempt(job: Job<PartnerWebhookJobData>): Promise<string> {
    const stop = this.metrics.jobTaken(job);
    try {
      const outcome = await this.deliveries.attempt(job.data.deliveryId, job.data.attempt, job.data.waits);
      // A wait for a free slot is no attempt.
      if (outcome !== 'waiting') this.metrics.partnerWebhookAttempts.inc({ outcome });
      return outcome;
    } catch (error) {
      this.logger.error(`Job ${job.id} of ${job.queueName} failed: ${String(error)}`);
      throw error;
    } finally {
      stop();
    }
  }
}
