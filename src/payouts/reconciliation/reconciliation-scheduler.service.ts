import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { PeriodicTask } from '../../common/periodic-task';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { MetricsService } from '../../ops/metrics.service';
import { ConnectorRegistry } from '../connectors/connector-registry';
import { DISCREPANCY_KINDS } from './compare-books';
import { ReconciliationService } from './reconciliation.service';

/**
 * The worker reconciles every provider on its own, every RECONCILE_INTERVAL_MS, over the window that ended
 * RECONCILE_LAG_MS ago (sends of the last minutes are still being settled): each report sets the provider's
 * `reconciliation_discrepancies` in metrics and warns when it found any, so an alert needs no one to ask.
 */
@Injectable()
export class ReconciliationScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconciliationScheduler.name);
  private readonly task = new PeriodicTask(this.logger, 'Scheduled reconciliation failed', (stopping) =>
    this.pass(this.config.reconcile.providerTimeoutMs, stopping),
  );

  constructor(
    private readonly reconciliation: ReconciliationService,
    private readonly connectors: ConnectorRegistry,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.reconcile.intervalMs > 0) this.task.start(this.config.reconcile.intervalMs);
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /**
   * One pass over every provider; answers the line to log. A provider whose statement fails, or takes longer than
   * `timeoutMs` (RECONCILE_PROVIDER_TIMEOUT_MS: a statement API that hangs holds up no other), is named, and the
   * others still run.
   */
  async pass(timeoutMs = this.config.reconcile.providerTimeoutMs, stopping?: AbortSignal): Promise<string> {
    const now = this.clock.now().getTime();
    const { lookbackMs, lagMs } = this.config.reconcile;
    const from = new Date(now - lookbackMs).toISOString();
    const to = new Date(now - lagMs).toISOString();
    let discrepancies = 0;
    const failed: string[] = [];
    for (const providerId of this.connectors.providerIds()) {
      // A stop (SIGTERM) ends the pass: the report is read again at the next start, and a stop that waited for a
      // slow statement API would outlast SHUTDOWN_TIMEOUT_MS.
      stopping?.throwIfAborted();
      try {
        const timeout = AbortSignal.timeout(timeoutMs);
        const report = await this.reconciliation.reconcile(
          providerId,
          { from, to },
          stopping ? AbortSignal.any([stopping, timeout]) : timeout,
        );
        discrepancies += report.discrepancies.length;
        this.record(providerId, report.discrepancies);
      } catch (error) {
        failed.push(providerId);
        this.logger.warn(`Reconciliation with ${providerId} failed: ${(error as Error).message}`);
      }
    }
    const providers = this.connectors.providerIds().length;
    return (
      `Reconciled ${providers - failed.length} of ${providers} providers from ${from} to ${to}: ` +
      `${discrepancies} discrepancies${failed.length ? `; failed: ${failed.join(', ')}` : ''}`
    );
  }

  /**
   * The provider's discrepancies per kind and the time of its report, in metrics; a warning when there are any.
   * Only the scheduled pass sets them: a report ops ask for, of any window, leaves what alerts read alone.
   */
  private record(providerId: string, discrepancies: { kind: string }[]): void {
    const counts = DISCREPANCY_KINDS.map((kind) => ({
      kind,
      count: discrepancies.filter((d) => d.kind === kind).length,
    }));
    for (const { kind, count } of counts) {
      this.metrics.reconciliationDiscrepancies.set({ provider: providerId, kind }, count);
    }
    this.metrics.reconciliationLastSuccess.set(
      { provider: providerId },
      Math.floor(this.clock.now().getTime() / 1000),
    );
    if (discrepancies.length) {
      const found = counts
        .filter(({ count }) => count > 0)
        .map(({ kind, count }) => `${kind} ${count}`)
        .join(', ');
      this.logger.warn(`Reconciliation with ${providerId}: ${discrepancies.length} discrepancies (${found})`);
    }
  }
}
