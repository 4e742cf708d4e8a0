import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PeriodicTask } from '../common/periodic-task';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { PayoutQueues } from '../queues/payout-queues.service';
import { JobIds } from '../queues/queues';

const BATCH = 200;

/**
 * Where a pass's read of one kind of stale row stopped: the row it read last, its time as Postgres text (exact to
 * the microsecond, which a Date is not).
 */
interface Cursor {
  at: string;
  id: string;
}

/**
 * Redis may lose a job and a worker may die holding one: every interval, payouts that sat too long in a
 * non-terminal state get their next step queued again, and settled transfers their overdue check for a return. Job ids carry the sweep's time bucket, so one sweep
 * queues a step once, and the step itself is idempotent in Postgres.
 */
@Injectable()
export class PayoutSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PayoutSweeper.name);
  private readonly task = new PeriodicTask(this.logger, 'Sweep failed', async () => {
    const queued = await this.sweep();
    return queued > 0 ? `Sweeper queued ${queued} stalled payout steps again.` : null;
  });

  /**
   * Stale rows can stay stale (a payout waiting for providers, a transfer a slow provider keeps processing), so each
   * read goes on from where the last one stopped, and starts over once it reached the end: every stale row is
   * reached within a few passes, not only the oldest BATCH.
   */
  private receivedAfter: Cursor | null = null;
  private attemptsAfter: Cursor | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly queues: PayoutQueues,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.task.start(this.config.sweep.intervalMs);
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** One pass; answers how many steps it queued. */
  async sweep(): Promise<number> {
    const staleMs = this.config.sweep.staleAfterMs;
    const bucket = Math.floor(Date.now() / staleMs) * staleMs;
    let queued = 0;

    const received: { id: string; at: string }[] = await this.db.query(
      `SELECT id, updated_at::text AS at FROM payouts
       WHERE status = 'received' AND updated_at < now() - make_interval(secs => $1 / 1000.0)
         AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3::timestamptz, $4::uuid))
       ORDER BY updated_at, id LIMIT $2`,
      [staleMs, BATCH, this.receivedAfter?.at ?? null, this.receivedAfter?.id ?? null],
    );
    for (const { id } of received) {
      await this.queues.enqueueRoute({ payoutId: id, cause: 'sweep' }, JobIds.routeSweep(id, bucket));
      queued += 1;
    }
    // Moved on only once the batch is queued: what Redis refused is read again by the next pass.
    this.receivedAfter = received.length < BATCH ? null : received[received.length - 1];

    const attempts: {
      id: string;
      payout_id: string;
      status: string;
      at: string;
      poll_due_ms: string | null;
    }[] = await this.db.query(
      `SELECT a.id, a.payout_id, a.status, a.updated_at::text AS at,
              (extract(epoch FROM date_trunc('milliseconds', a.settle_check_at)) * 1000)::bigint AS poll_due_ms
       FROM payout_attempts a JOIN payouts p ON p.id = a.payout_id
       WHERE p.status IN ('routed', 'sending') AND a.status IN ('pending', 'unknown', 'accepted')
         AND a.updated_at < clock_timestamp() - make_interval(secs => $1 / 1000.0)
         -- A transfer on the slow poll is queued again only once its poll is overdue.
         AND (a.settle_check_at IS NULL OR a.settle_check_at < clock_timestamp() - make_interval(secs => $1 / 1000.0))
         AND ($3::timestamptz IS NULL OR (a.updated_at, a.id) > ($3::timestamptz, $4::uuid))
       ORDER BY a.updated_at, a.id LIMIT $2`,
      [staleMs, BATCH, this.attemptsAfter?.at ?? null, this.attemptsAfter?.id ?? null],
    );
    for (const attempt of attempts) {
      const data = { payoutId: attempt.payout_id, attemptId: attempt.id };
      if (attempt.status === 'accepted') {
        // A transfer on the slow poll gets the overdue poll itself, not a new round of quick polls.
        const poll = attempt.poll_due_ms === null ? {} : { pollDueAtMs: Number(attempt.poll_due_ms) };
        await this.queues.enqueueSettle({ ...data, ...poll }, 0, JobIds.settleSweep(attempt.id, bucket));
      } else {
        await this.queues.enqueueSend(data, { jobId: JobIds.sendSweep(attempt.id, bucket) });
      }
      queued += 1;
    }
    this.attemptsAfter = attempts.length < BATCH ? null : attempts[attempts.length - 1];

    // Checks of settled transfers for a return, overdue because Redis lost their delayed jobs. Each is claimed
    // by moving its due time two stale periods on: a check still waiting in a busy queue is not queued again at
    // every sweep, and checks that keep failing do not hold the head of the list.
    const [checks]: [{ id: string; payout_id: string; return_check: number }[], number] = await this.db.query(
      `UPDATE payout_attempts a SET return_check_at = clock_timestamp() + make_interval(secs => $1 * 2 / 1000.0)
       FROM (SELECT id FROM payout_attempts
             WHERE status = 'settled' AND return_check_at IS NOT NULL
               AND return_check_at < clock_timestamp() - make_interval(secs => $1 / 1000.0)
             ORDER BY return_check_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
       WHERE a.id = due.id
       RETURNING a.id, a.payout_id, a.return_check`,
      [staleMs, BATCH],
    );
    for (const check of checks) {
      await this.queues.enqueueSettle(
        { payoutId: check.payout_id, attemptId: check.id, returnCheck: check.return_check },
        0,
        JobIds.returnCheckSweep(check.id, check.return_check, bucket),
      );
      queued += 1;
    }
    return queued;
  }
}
