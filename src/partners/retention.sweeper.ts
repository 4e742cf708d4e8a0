import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PeriodicTask } from '../common/periodic-task';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { IdempotencyService } from './idempotency.service';
import { forgetReplayCopies, ROTATED_SECRET_TABLES } from './secret-rotation';

/** Often enough that nothing is kept much past its retention; the work is a few indexed deletes and updates. */
const RETENTION_SWEEP_MS = 10 * 60 * 1000;

/**
 * What is kept only to answer a repeated request, forgotten once its Idempotency-Key is past the retention the
 * README promises: the stored answers, and the sealed copies of signing secrets kept to answer a repeated
 * creation or rotation. Runs in the worker role; two workers at once do the same deletes, harmlessly.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RetentionSweeper.name);
  private readonly task = new PeriodicTask(this.logger, 'The retention sweep failed', async () => {
    const forgotten = await this.sweep();
    return forgotten > 0
      ? `Forgot ${forgotten} Idempotency-Keys and replay copies past their retention.`
      : null;
  });

  constructor(
    private readonly db: DataSource,
    private readonly idempotency: IdempotencyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.role !== 'api') this.task.start(RETENTION_SWEEP_MS);
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** One pass; answers how many keys and copies it forgot. */
  async sweep(): Promise<number> {
    // Each statement on its own: one transaction around them would lock rotation-log rows and then owner rows, the
    // other way round from a rotation, and the two could deadlock.
    let forgotten = await this.idempotency.purgeExpired();
    for (const tables of Object.values(ROTATED_SECRET_TABLES)) {
      forgotten += await forgetReplayCopies(this.db.manager, tables);
    }
    return forgotten;
  }
}
