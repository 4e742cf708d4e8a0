import { WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { jobLogContext, withLogContext } from '../../common/log-context';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { MetricsService } from '../../ops/metrics.service';
import { logWorkerErrors } from '../../queues/queue-errors.logger';
import { closeWorkerFirst } from '../../queues/worker-shutdown';
import { RetryLater } from '../payout-pipeline.service';

/**
 * What every pipeline processor shares: concurrency and stall detection from config, job timing in metrics, the
 * job named on every line it logs, quiet retries (RetryLater is an expected outcome, not an error worth a
 * stack trace), and a stop that lets the jobs it holds finish first (see closeWorkerFirst).
 */
export abstract class PipelineWorkerHost
  extends WorkerHost
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  protected readonly logger = new Logger(this.constructor.name);
  @Inject(APP_CONFIG) private readonly config: AppConfig;
  @Inject(MetricsService) private readonly metrics: MetricsService;

  abstract run(job: Job): Promise<void>;

  /** Whether this run is the job's last try: a step that would retry does its giving-up work instead. */
  protected isFinalTry(job: Job): boolean {
    return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.workerConcurrency;
    logWorkerErrors(this.worker, this.logger);
  }

  beforeApplicationShutdown(): Promise<void> {
    return closeWorkerFirst(this.worker);
  }

  process(job: Job): Promise<void> {
    return withLogContext(jobLogContext(job), () => this.timed(job));
  }

  private async timed(job: Job): Promise<void> {
    const stop = this.metrics.jobTaken(job);
    try {
      await this.run(job);
    } catch (error) {
      if (!(error instanceof RetryLater))
        this.logger.error(`Job ${job.id} of ${job.queueName} failed: ${String(error)}`);
      throw error;
    } finally {
      stop();
    }
  }
}
