import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PeriodicTask } from '../common/periodic-task';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { countSealedElsewhere, resealSecrets, ROTATED_SECRET_TABLES } from './secret-rotation';

/** Soon after a worker starts (a new SECRETS_KEY arrives with a deploy), then hourly for stragglers. */
const FIRST_PASS_MS = 10_000;
const RESEAL_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Rotating SECRETS_KEY: the new key becomes SECRETS_KEY and the old one moves to SECRETS_KEYS_DECRYPT_ONLY. This
 * worker task then seals every stored signing secret again with the new key, and sets
 * `stored_secrets_not_under_current_key` to what is left; at 0 on every kind the old key may be dropped. A value
 * no given key opens is left as it is and named in the log. Two workers at once take different rows.
 */
@Injectable()
export class SecretResealer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SecretResealer.name);
  private readonly task = new PeriodicTask(this.logger, 'Sealing stored secrets again failed', () =>
    this.pass(),
  );

  constructor(
    private readonly db: DataSource,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Only while a rotation is under way (SECRETS_KEYS_DECRYPT_ONLY given): otherwise a pass would only rewrite the
   * secrets stored before the key id was written into the newer format, which a replica of an earlier release,
   * still running during a rolling deploy, cannot open.
   */
  onApplicationBootstrap(): void {
    if (this.config.role !== 'api' && this.config.secretKeys.rotating) {
      this.task.start(RESEAL_INTERVAL_MS, FIRST_PASS_MS);
    }
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** One pass over every kind of stored secret; answers a line to log when it changed something. */
  async pass(): Promise<string | null> {
    let resealed = 0;
    for (const [kind, tables] of Object.entries(ROTATED_SECRET_TABLES)) {
      const done = await resealSecrets(this.db, this.config.secretKeys, tables);
      resealed += done.resealed;
      if (done.unreadable.length) {
        this.logger.error(
          `${done.unreadable.length} ${tables.table} or ${tables.rotations} rows hold a secret no key given opens ` +
            `(SECRETS_KEY and SECRETS_KEYS_DECRYPT_ONLY): ${done.unreadable.join(', ')}`,
        );
      }
      this.metrics.secretsSealedElsewhere.set(
        { kind },
        await countSealedElsewhere(this.db, this.config.secretKeys, tables),
      );
    }
    return resealed ? `Sealed ${resealed} stored secrets again with the current SECRETS_KEY.` : null;
  }
}
