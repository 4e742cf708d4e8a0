import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { untilAborted } from '../common/until-aborted';
import { FreelancersService, PayeeProfile } from '../freelancers/freelancers.service';
import { InvoicesService } from '../invoices/invoices.service';
import { PayoutBookings } from '../ledger/payout-bookings.service';
import { MoneyDecimal } from '../money/money';
import { MetricsService } from '../ops/metrics.service';
import { PayoutQueues } from '../queues/payout-queues.service';
import { JobIds, SettlePayoutJobData } from '../queues/queues';
import { ProviderHealthService } from '../routing/provider-health.service';
import { compareQuoteViews, ProviderAvailability } from '../routing/ranking';
import { ProviderWait, QuoteView, RoutingDecision, RoutingService } from '../routing/routing.service';
import { ConnectorRegistry } from './connectors/connector-registry';
import { ProviderConnector, SendResult, TransferStatus } from './connectors/provider-connector';
import { fromStates, nextCandidate, PayoutStatus, returnCheckDelay } from './payout-status';

interface PayoutRow {
  id: string;
  partner_id: string;
  platform: string;
  freelancer_ref: string;
  freelancer_id: string | null;
  /** The dollar account the payout was routed for; null until it is routed. */
  account_id: string | null;
  gross: string;
  currency: 'USD';
  client_name: string;
  client_country: string;
  description: string;
  service_category: string;
  status: PayoutStatus;
  decision: RoutingDecision | null;
}

interface AttemptRow {
  id: string;
  payout_id: string;
  seq: number;
  route_id: string;
  provider: string;
  quote: QuoteView;
  idempotency_key: string;
  status: string;
  /** When a send of this attempt last started; null while it was never sent. */
  last_send_at: Date | null;
  /** How many sends of it came back unknown (no answer within SEND_TIMEOUT_MS). */
  unknown_sends: number;
  /**
   * A settled attempt's check for a return that is due next (from 0); FINISHED_RETURN_CHECKS once the window is
   * covered; null for an attempt settled before checks were kept in Postgres.
   */
  return_check: number | null;
}

/** An attempt's send mark and the status that goes with it, as a send found them. */
type AttemptMark = Pick<AttemptRow, 'status' | 'last_send_at'>;

/**
 * What the fast path already holds when one step runs the next in the same job (the rows it just wrote and the
 * payee it matched), so the next step need not read them again. A step run from a queue reads afresh.
 */
interface Known {
  payout: PayoutRow;
  attempt: AttemptRow;
  payee?: PayeeProfile;
}

/** The first retry of a send or settlement check handed from the fast path to a queue. */
const RETRY_DELAY_MS = 500;
/**
 * Past the send timeout, how long a send that was already being carried out may still take to be recorded by the
 * provider (and show in its status) before "no record of the key" means it never will.
 */
const LANDING_MARGIN_MS = 5_000;
/**
 * How many sends of one attempt may come back unknown before it fails over while another route can take the payout
 * (its sends waited out and the provider asked first), even though the provider's breaker stayed closed.
 */
export const MAX_UNKNOWN_SENDS = 3;

/** `return_check` of a settled attempt whose checks for a return covered the whole window. */
const FINISHED_RETURN_CHECKS = -1;

/** Thrown to make BullMQ retry a job with its backoff. */
export class RetryLater extends Error {}

/**
 * The path of one payout: route → send → settle, with failover. Each step reads state from Postgres, changes it
 * with conditional updates, and books the ledger and the invoice in the same transaction, so a step that runs
 * twice (a repeated job, a sweeper, a worker that died between two lines) changes nothing the second time.
 */
@Injectable()
export class PayoutPipelineService {
  private readonly logger = new Logger(PayoutPipelineService.name);

  constructor(
    private readonly db: DataSource,
    private readonly freelancers: FreelancersService,
    private readonly routing: RoutingService,
    private readonly health: ProviderHealthService,
    private readonly bookings: PayoutBookings,
    private readonly invoices: InvoicesService,
    private readonly connectors: ConnectorRegistry,
    private readonly queues: PayoutQueues,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Matches the freelancer, quotes every route, books the payout, issues the invoice and queues the first send. */
  async route(
    payoutId: string,
    options: { sendInline: boolean; again?: boolean } = { sendInline: true },
  ): Promise<void> {
    const payout = await this.loadPayout(this.db.manager, payoutId);
    if (!payout || (payout.status !== 'received' && payout.status !== 'unmatched')) return;

    const payee = await this.freelancers.findPayeeByRef(payout.partner_id, payout.freelancer_ref);
    if (!payee || !payee.account) {
      const detail = payee
        ? `freelancer ${payout.freelancer_ref} has no dollar account`
        : `no freelancer with ref ${payout.freelancer_ref}`;
      await this.db.transaction((tx) => this.transition(tx, payoutId, 'unmatched', detail));
      return;
    }

    const gross = new MoneyDecimal(payout.gross);
    const decision = await this.routing.decide({
      platform: payout.platform,
      gross,
      accountKind: payee.account.kind,
    });
    const first = decision.quotes.find((q) => q.routeId === decision.chosen);
    const waitFor = first ? null : this.routing.waitsForProviders(decision);
    if (waitFor && (await this.mayWaitForProviders(payoutId))) {
      // Only provider state stands in the way (open breakers, providers ops disabled); it passes, so the payout
      // waits in received, up to PROVIDER_WAIT_MAX_MS. What Redis refuses, the sweeper queues.
      await this.queues
        .enqueueRoute(
          { payoutId, cause: `waiting for providers (${waitFor})` },
          JobIds.routeAfterCooldown(payoutId, this.clock.now().getTime(), this.config.breaker.cooldownMs),
          this.config.breaker.cooldownMs,
        )
        .catch((error: Error) =>
          this.logger.warn(
            `Route of waiting payout ${payoutId} not queued yet (the sweeper will): ${error.message}`,
          ),
        );
      this.metrics.payoutWaits.inc({ step: 'route', reason: waitFor });
      this.logger.warn(
        `Payout ${payoutId} waits: every route that could carry it has its provider ` +
          (waitFor === 'breaker_open' ? `disabled or its circuit open.` : `disabled by ops.`),
      );
      return;
    }
    if (!first) {
      const failed = await this.db.transaction(async (tx) => {
        // The freelancer was matched; only no route could carry the money.
        await tx.query(
          `UPDATE payouts SET decision = $2, freelancer_id = $3, account_id = $4, account_kind = $5
           WHERE id = $1 AND status IN ('received', 'unmatched')`,
          [payoutId, decision, payee.freelancerId, payee.account!.id, payee.account!.kind],
        );
        const reason = waitFor
          ? `no eligible route: the providers that could carry it stayed disabled or unhealthy for ${waitLimit(this.config.providerWaitMaxMs)}`
          : 'no eligible route';
        return this.transition(tx, payoutId, 'failed', reason, { failureReason: reason });
      });
      if (failed) this.metrics.routeChosen.inc({ route: 'none' });
      return;
    }

    const attempt = await this.db.transaction(async (tx) => {
      const created = await this.routeAndCreateAttempt(
        tx,
        payoutId,
        payee,
        decision,
        first,
        options.sendInline,
      );
      if (!created) return null;
      await this.bookings.bookRouted(tx, {
        payoutId,
        freelancerId: payee.freelancerId,
        platform: payout.platform,
        gross,
      });
      const invoice = await this.invoices.issueForPayout(tx, {
        payoutId,
        partnerId: payout.partner_id,
        freelancerId: payee.freelancerId,
        exporter: {
          name: payee.name,
          cnic: payee.cnic,
          ntn: payee.ntn,
          psebRegistrationNo: payee.psebRegistrationNo,
        },
        client: { name: payout.client_name, country: payout.client_country },
        description: payout.description,
        serviceCategory: payout.service_category,
        gross,
        currency: 'USD',
        issuedAt: this.clock.now(),
      });
      // A round after one that failed (an ops retry): the money is on its way again, and the invoice says so.
      if (!invoice.created) {
        await this.invoices.markAwaitingAgain(tx, {
          payoutId,
          at: this.clock.now(),
          reason: `routed again: attempt ${created.seq} via ${first.routeId}`,
        });
      }
      return created;
    });
    if (!attempt) {
      // Nothing moved: another job routed the payout, or the account read above is no longer the default (the
      // partner moved the default away, and may have closed it). Then it is routed once more, to the default as
      // it is now.
      const [still] = await this.db.query(
        `SELECT 1 FROM payouts WHERE id = $1 AND status IN ('received', 'unmatched')`,
        [payoutId],
      );
      if (!still) return;
      if (options.again)
        throw new RetryLater(`payout ${payoutId}: its account was closed while it was routed`);
      return this.route(payoutId, { ...options, again: true });
    }
    // Counted once committed, so a routing transaction that rolls back and runs again counts once.
    this.metrics.routeChosen.inc({ route: first.routeId });
    this.metrics.payoutTransitions.inc({ status: 'routed' });
    if (options.sendInline) this.metrics.payoutTransitions.inc({ status: 'sending' });
    if (!options.sendInline) {
      await this.queueSend(payoutId, attempt.id);
      return;
    }
    await this.sendNowOrQueue(payoutId, attempt.id, {
      payout: {
        ...payout,
        status: 'sending',
        freelancer_id: payee.freelancerId,
        account_id: payee.account!.id,
        decision,
      },
      attempt,
      payee,
    });
  }

  /** Sends one attempt; a timeout is resolved by asking the provider before anything else happens. */
  async send(payoutId: string, attemptId: string, finalTry: boolean, known?: Known): Promise<void> {
    const attempt = known?.attempt ?? (await this.loadAttempt(attemptId));
    if (!attempt || (attempt.status !== 'pending' && attempt.status !== 'unknown')) return;
    const payout = known?.payout ?? (await this.loadPayout(this.db.manager, payoutId));
    if (!payout || (payout.status !== 'routed' && payout.status !== 'sending')) return;

    if (payout.status === 'routed') {
      await this.db.transaction((tx) =>
        this.transition(tx, payoutId, 'sending', `attempt ${attempt.seq} via ${attempt.route_id}`),
      );
    }
    const connector = this.connectors.get(attempt.provider);

    // A route ops switched off since it was chosen (while its send waited for a breaker, say) gets no first send:
    // the attempt fails over, as after a refusal. One that was sent may have landed, and goes on as it is; so does
    // one another job marked for a send meanwhile (the failover then moves nothing).
    if (!known && attempt.last_send_at === null && !(await this.routeActive(attempt.route_id))) {
      await this.failOver(payout, attempt, `nothing sent: route ${attempt.route_id} was switched off by ops`);
      return;
    }

    if (attempt.status === 'unknown') {
      const askedAt = await this.followProvider(connector, payout, attempt);
      if (!askedAt) return;
      // The same key goes out again only to a provider in good health that has not left this attempt unanswered
      // again and again, or when no other route is left: one whose breaker opened may be why no answer came, and
      // one that hangs on this payout alone keeps its breaker closed. The attempt then waits out its sends and
      // fails over.
      const unanswered = attempt.unknown_sends >= MAX_UNKNOWN_SENDS;
      if (
        (unanswered || !(await this.health.isClosed(attempt.provider))) &&
        (await this.nextRoutes(this.db.manager, payout)).available
      ) {
        await this.refused(connector, payout, attempt, {
          askedAt,
          why: unanswered
            ? `${attempt.provider} answered none of ${attempt.unknown_sends} sends of it`
            : undefined,
        });
        return;
      }
    }

    // The fast path's first send was marked with its attempt; any other send marks the attempt here.
    const marked = known && attempt.last_send_at !== null ? attempt.last_send_at : null;
    const waitForOtherSend = () =>
      this.sendLater(payout.id, attemptId, this.sendWindowMs(), 'another send of it may still be on its way');
    // Seen already in the row this job read: it waits at once, without the write markSend would refuse.
    if (!marked && this.mayStillBeOnItsWay(attempt)) {
      await waitForOtherSend();
      return;
    }
    // Read before the mark: once marked, the send must go out within its own timeout of the mark (below).
    const payee =
      known?.payee ??
      (await this.freelancers.payee(payout.partner_id, payout.freelancer_id!, payout.account_id!));
    // The mark comes before the send slot: of two jobs of one attempt, only the one holding the mark asks the
    // breaker, so the other can neither take a half-open provider's one trial nor, refused because this job holds
    // it, fail the attempt over while this job's send is about to go.
    const mark = marked
      ? { at: marked, replaced: { status: attempt.status, last_send_at: null } }
      : await this.markSend(attemptId, attempt.status === 'unknown');
    if (!mark) {
      await waitForOtherSend();
      return;
    }
    // The mark and status this job's mark replaced (the fast path's mark is this job's own), for taking it back.
    const { at: sentAt, replaced: beforeMark } = mark;
    // The send window (which lets another job mark the attempt once it is over) runs from the mark: a send held
    // up since (a stalled process, a slow pool) gets only what is left of its timeout, and none when it is used up.
    // Checked before the send slot as well, so that a stall before it does not take a half-open provider's one
    // trial for a send that will not go.
    const timeLeftMs = () => sentAt.getTime() + this.config.sendTimeoutMs - this.clock.now().getTime();
    const heldUp = async () => {
      await this.unmark(attemptId, sentAt, beforeMark);
      return new RetryLater(
        `the send to ${attempt.provider} was held up past its timeout before it went out`,
      );
    };
    if (timeLeftMs() <= 0) throw await heldUp();
    let mayGo: boolean;
    try {
      mayGo = await this.health.acquireSend(attempt.provider);
    } catch (error) {
      await this.unmark(attemptId, sentAt, beforeMark);
      throw error;
    }
    if (!mayGo) {
      // Nothing goes out: the mark is taken back, so the attempt stands as it was before this job.
      await this.unmark(attemptId, sentAt, beforeMark);
      await this.refused(connector, payout, attempt, { slotRefused: true });
      return;
    }
    const timeoutMs = timeLeftMs();
    if (timeoutMs <= 0) throw await heldUp();
    let result: SendResult;
    try {
      result = await connector.send({
        signal: AbortSignal.timeout(timeoutMs),
        idempotencyKey: attempt.idempotency_key,
        payoutId,
        attemptId,
        routeId: attempt.route_id,
        amount: new MoneyDecimal(payout.gross),
        currency: 'USD',
        beneficiary: {
          name: payee.account!.title,
          iban: payee.account!.iban,
          institution: payee.account!.institution,
          accountKind: payee.account!.kind,
        },
      });
    } catch (error) {
      // A call that threw (a reset socket, an abort the client let escape, a bug) may or may not have reached the
      // provider: an unknown outcome, handled as one (counted against the breaker and the attempt, the provider
      // asked before the key goes out again), not left pending to be sent blind for ever.
      result = { kind: 'unknown', error: `the call to ${attempt.provider} threw: ${String(error)}` };
    }
    this.metrics.attempts.inc({ provider: attempt.provider, outcome: result.kind });

    switch (result.kind) {
      case 'accepted':
        await this.health.recordSuccess(attempt.provider);
        await this.accepted(payout, attempt, result.transferId);
        return;
      case 'permanent':
        // A refusal of this payout alone is an answer from a provider that works: a run of closed accounts must
        // not take a healthy provider out of every payout's routes.
        if (result.fault === 'payout') await this.health.recordSuccess(attempt.provider);
        else await this.health.recordFailure(attempt.provider);
        if (beforeMark.last_send_at === null) {
          await this.failOver(payout, attempt, result.error, { ownSend: sentAt });
          return;
        }
        // The refusal says only that this call made nothing: its mark is taken back, the earlier one's kept.
        await this.unmark(attemptId, sentAt, beforeMark);
        await this.failOverPastEarlierSend(connector, payout, attempt, beforeMark.last_send_at, result.error);
        return;
      case 'transient': {
        await this.health.recordFailure(attempt.provider);
        // A definite "nothing was created": this send can no longer land, so its mark is taken back. An earlier send
        // of the same key (its outcome unknown, or never recorded) still may: that mark stands again.
        await this.unmark(attemptId, sentAt, beforeMark);
        if (!finalTry) throw new RetryLater(`transient failure at ${attempt.provider}: ${result.error}`);
        const error = `retries exhausted: ${result.error}`;
        if (beforeMark.last_send_at !== null) {
          await this.failOverPastEarlierSend(connector, payout, attempt, beforeMark.last_send_at, error);
        } else if (!(await this.failOver(payout, attempt, error))) {
          await this.sendAfterWindow(payout.id, attempt, null, 'another send of it');
        }
        return;
      }
      case 'unknown':
        // A provider that does not answer is failing too: enough of these open its breaker, and an attempt held
        // by it then fails over once its sends can no longer land, instead of asking forever.
        await this.health.recordFailure(attempt.provider);
        // Only while the attempt holds this send's mark: an answer so late that another send took the attempt over
        // must not make it look unknown under that send, or a third job would mark over it.
        await this.db.query(
          `UPDATE payout_attempts SET status = 'unknown', error = $2, unknown_sends = unknown_sends + 1,
                  updated_at = clock_timestamp()
           WHERE id = $1 AND status IN ('pending', 'unknown') AND last_send_at = $3`,
          [attemptId, result.error, sentAt],
        );
        this.logger.warn(
          `Send of payout ${payoutId} to ${attempt.provider} came back unknown (${result.error}); ` +
            `the provider is asked before the key goes out again.`,
        );
        // Never fail over from an unknown outcome: the money may be on its way. The retry asks the provider first.
        throw new RetryLater(`outcome unknown at ${attempt.provider}: ${result.error}`);
    }
  }

  /**
   * The provider's view of the attempt's key, waited for at most SEND_TIMEOUT_MS: a provider whose status API
   * hangs makes the job try again later (RetryLater) instead of holding it, and the worker's stop, for ever.
   */
  private async statusAt(connector: ProviderConnector, attempt: AttemptRow): Promise<TransferStatus> {
    const signal = AbortSignal.timeout(this.config.sendTimeoutMs);
    try {
      return await untilAborted(connector.getStatus(attempt.idempotency_key, signal), signal);
    } catch (error) {
      if (!signal.aborted) throw error;
      throw new RetryLater(
        `${attempt.provider} did not answer a status lookup of key ${attempt.idempotency_key} within ` +
          `${this.config.sendTimeoutMs} ms`,
      );
    }
  }

  /**
   * Follows what the provider says of the attempt's key: accepted, or failed for good; answers null then. When the
   * provider has no record of the key, answers when it was asked: that answer rules out only the sends whose
   * window was over by then (a failover relies on it through its `askedAt`).
   */
  private async followProvider(
    connector: ProviderConnector,
    payout: PayoutRow,
    attempt: AttemptRow,
  ): Promise<Date | null> {
    const askedAt = this.clock.now();
    const status = await this.statusAt(connector, attempt);
    if (status.state === 'processing' || status.state === 'settled' || status.state === 'returned') {
      await this.accepted(payout, attempt, status.transferId);
      return null;
    }
    if (status.state === 'failed') {
      // The provider's own record of the key: no send of it can land any more.
      await this.failOver(payout, attempt, status.error, { definite: true });
      return null;
    }
    return askedAt;
  }

  /**
   * This job's send made nothing (a definite answer; its mark is taken back), but an earlier send of the key may
   * have landed or still land (`earlier`, its mark: its outcome unknown, or never recorded because its worker
   * died), and a provider may answer without looking the key up. The provider's record of the key decides first;
   * a failover then waits until that send's window was over when the provider was asked, and asks again after it.
   */
  private async failOverPastEarlierSend(
    connector: ProviderConnector,
    payout: PayoutRow,
    attempt: AttemptRow,
    earlier: Date,
    error: string,
  ): Promise<void> {
    const askedAt = await this.followProvider(connector, payout, attempt);
    if (askedAt && !(await this.failOver(payout, attempt, error, { askedAt }))) {
      await this.sendAfterWindow(payout.id, attempt, earlier, 'an earlier send of it');
    }
  }

  /**
   * What markSend would refuse, read from the attempt as loaded: a send of it marked less than the send window ago
   * whose outcome has not come back unknown.
   */
  private mayStillBeOnItsWay(attempt: AttemptRow): boolean {
    return (
      attempt.last_send_at !== null &&
      attempt.status !== 'unknown' &&
      attempt.last_send_at.getTime() >= this.clock.now().getTime() - this.sendWindowMs()
    );
  }

  /** The longest a send may take, plus the margin for the provider to record one that was being carried out. */
  private sendWindowMs(): number {
    return this.config.sendTimeoutMs + LANDING_MARGIN_MS;
  }

  /**
   * Marks a send of the attempt as begun, and answers the mark. One send at a time: refused (null) while an earlier
   * send may still be on its way (marked, less than the send window ago), unless its outcome came back unknown
   * (that call is over; sending the same key again is safe and moves the mark on). The send that follows an unknown
   * outcome takes the attempt back to pending: its own call is on its way now, so a second job that also read the
   * attempt as unknown must wait for it like any other send instead of marking over it (a failover by that job's
   * send would then pass for the only one that could still land). Null too when the attempt has moved on.
   * Answers, with the mark, the mark and status it replaced, as they were when it replaced them (not as this job
   * read the attempt earlier: another send may have marked it since), for taking it back exactly.
   */
  private async markSend(
    attemptId: string,
    afterUnknown: boolean,
  ): Promise<{ at: Date; replaced: AttemptMark } | null> {
    const now = this.clock.now();
    // The row is locked and read first: after a wait for another send's change, the lock reads the row as that
    // change left it, and the update's conditions and the answer are that version's.
    const rows: AttemptMark[] = await this.db.query(
      `WITH old AS (SELECT id, status, last_send_at FROM payout_attempts WHERE id = $1 FOR UPDATE),
            marked AS (
              UPDATE payout_attempts a SET last_send_at = $2, status = 'pending'
              FROM old
              WHERE a.id = old.id AND old.status IN ('pending', 'unknown')
                AND (old.last_send_at IS NULL OR old.last_send_at < $3 OR ($4 AND old.status = 'unknown'))
              RETURNING old.status, old.last_send_at)
       SELECT status, last_send_at FROM marked`,
      [attemptId, now, new Date(now.getTime() - this.sendWindowMs()), afterUnknown],
    );
    return rows.length ? { at: now, replaced: rows[0] } : null;
  }

  /**
   * Takes back the mark of a send that moved no money (nothing sent, or a definite transient answer): the attempt
   * gets back the mark it had before (`before`, the attempt as that send found it). An earlier send's mark stands
   * again even when its window is over: that send's outcome was never recorded (its worker died, say), so it may
   * have landed, and a refusal must ask the provider before failing over instead of reading the attempt as never
   * sent. A send that followed an unknown outcome leaves the attempt unknown again, so the next send asks the
   * provider first, as it would have before this one.
   */
  private async unmark(attemptId: string, mark: Date, before: AttemptMark): Promise<void> {
    await this.db.query(
      `UPDATE payout_attempts SET last_send_at = $4,
              status = CASE WHEN $3 AND status = 'pending' THEN 'unknown' ELSE status END
       WHERE id = $1 AND last_send_at = $2`,
      [attemptId, mark, before.status === 'unknown', before.last_send_at],
    );
  }

  /** A failover held back by a send marked at `mark`: the attempt's send runs again once that send's window is over. */
  private async sendAfterWindow(
    payoutId: string,
    attempt: AttemptRow,
    mark: Date | null,
    which: string,
  ): Promise<void> {
    const landsUntil = (mark?.getTime() ?? 0) + this.sendWindowMs();
    await this.sendLater(
      payoutId,
      attempt.id,
      Math.max(RETRY_DELAY_MS, landsUntil - this.clock.now().getTime()),
      `${which} may still reach ${attempt.provider}`,
    );
  }

  /**
   * Queues the attempt's send to run again after `delayMs`. The attempt is touched, so the sweeper (which looks
   * for attempts nobody moved for a while) leaves a waiting one to its delayed job; a sweep that still queues one
   * merges into the same wait (JobIds.sendLater).
   */
  private async sendLater(
    payoutId: string,
    attemptId: string,
    delayMs: number,
    why: string,
    reason: ProviderWait | 'send_may_land' = 'send_may_land',
  ): Promise<void> {
    this.metrics.payoutWaits.inc({ step: 'send', reason });
    this.logger.log(`Send of payout ${payoutId} waits ${delayMs} ms: ${why}.`);
    await this.db.query(
      `UPDATE payout_attempts SET updated_at = clock_timestamp() WHERE id = $1 AND status IN ('pending', 'unknown')`,
      [attemptId],
    );
    const at = this.clock.now().getTime() + delayMs;
    await this.queueSend(payoutId, attemptId, delayMs, JobIds.sendLater(attemptId, at, delayMs));
  }

  /**
   * The provider may not be sent to now (disabled by ops, or its circuit open). An attempt that may have reached
   * the provider follows the provider's record of its key first. Then, when no other route can be sent to, the
   * attempt waits for the provider to come back, up to PROVIDER_WAIT_MAX_MS after the payout was received;
   * otherwise it fails over, as soon as no send of it can still land (the failover checks that in the same
   * statement that fails the attempt, so a send marked meanwhile holds it back).
   */
  private async refused(
    connector: ProviderConnector,
    payout: PayoutRow,
    attempt: AttemptRow,
    {
      askedAt,
      why: cause,
      slotRefused = false,
    }: { askedAt?: Date; why?: string; slotRefused?: boolean } = {},
  ): Promise<void> {
    const current = await this.loadAttempt(attempt.id);
    if (!current || (current.status !== 'pending' && current.status !== 'unknown')) return;
    // The caller may just have asked the provider about this key (at `askedAt`): no second call for the same answer.
    let noRecordAt = askedAt ?? null;
    if (!noRecordAt && current.last_send_at !== null) {
      noRecordAt = await this.followProvider(connector, payout, current);
      if (!noRecordAt) return;
    }
    const next = await this.nextRoutes(this.db.manager, payout);
    // Read after the other routes: a cool-down another route was seen to end by then has ended for this provider
    // too when their breakers opened together.
    const availability = await this.health.availability(current.provider);
    if (slotRefused && availability === 'available') {
      // It takes traffic again since it refused the send slot (its cool-down ended, a trial finished, ops enabled
      // it): a moment's refusal is no reason to leave it for another route. The send goes again shortly.
      await this.sendLater(
        payout.id,
        current.id,
        RETRY_DELAY_MS,
        `${current.provider} takes traffic again since it refused the send`,
        'breaker_open',
      );
      return;
    }
    if (!next.available && (await this.mayWaitForProviders(payout.id))) {
      // No other route to take: wait for this provider, briefly when it already takes traffic again (enabled, its
      // cool-down ended, or a trial succeeded since the refusal), else for a cool-down's time.
      await this.sendLater(
        payout.id,
        current.id,
        availability === 'available' ? RETRY_DELAY_MS : this.config.breaker.cooldownMs,
        `${current.provider} is ${availability === 'disabled' ? 'disabled' : 'not healthy'} and no other route can be sent to now`,
        availability === 'disabled' ? 'provider_disabled' : 'breaker_open',
      );
      return;
    }
    const why = cause ?? `${current.provider} is disabled or its circuit is open`;
    const error = current.last_send_at === null ? `nothing sent: ${why}` : `nothing arrived: ${why}`;
    if (!(await this.failOver(payout, current, error, { askedAt: noRecordAt ?? undefined }))) {
      // Held back by a send that may still land: ask again once its window has passed.
      await this.sendAfterWindow(payout.id, current, current.last_send_at, 'a send of it');
    }
  }

  /**
   * Polls the provider for an accepted transfer's settlement (or, with `returnCheck`, checks a settled one for a
   * return). Still processing: RetryLater, so the job polls again shortly, until its last try (`finalTry`), which
   * hands the transfer over to the slow poll instead of failing. A job of the slow poll (`pollDueAtMs`) asks once
   * and queues the next slow poll, without quick polls of its own.
   */
  async settle(
    { payoutId, attemptId, returnCheck, pollDueAtMs }: SettlePayoutJobData,
    { known, finalTry = false }: { known?: Known; finalTry?: boolean } = {},
  ): Promise<void> {
    const attempt = known?.attempt ?? (await this.loadAttempt(attemptId));
    if (!attempt || (attempt.status !== 'accepted' && attempt.status !== 'settled')) return;
    const payout = known?.payout ?? (await this.loadPayout(this.db.manager, payoutId));
    if (!payout) return;
    if (attempt.status === 'settled') {
      // Only a return-check job looks at a settled transfer; a settlement poll that comes late has nothing to do.
      if (returnCheck !== undefined) await this.checkForReturn(payout, attempt, returnCheck);
      return;
    }
    const status = await this.statusAt(this.connectors.get(attempt.provider), attempt);
    switch (status.state) {
      case 'not_found':
        // The provider took the transfer (its id is on the attempt), so the money is on its way whatever a lookup
        // says now (a lookup may lag the send): failing over would pay twice. It is polled on as processing, and
        // counted, and reconciliation lists it as missing_transfer for a person to settle with the provider.
        this.metrics.acceptedTransfersNotFound.inc({ provider: attempt.provider });
        this.logger.warn(
          `Provider ${attempt.provider} has no record of the transfer it accepted under key ` +
            `${attempt.idempotency_key} (payout ${payout.id}); polling on.`,
        );
        await this.pollOn(
          payout.id,
          attempt.id,
          pollDueAtMs,
          finalTry,
          `at ${attempt.provider} has no record of it yet`,
        );
        return;
      case 'processing':
        await this.pollOn(
          payout.id,
          attempt.id,
          pollDueAtMs,
          finalTry,
          `at ${attempt.provider} still processing`,
          { countSlowPoll: true },
        );
        return;
      case 'settled':
      case 'returned':
        await this.settled(payout, attempt, status.settledAt);
        if (status.state === 'returned') await this.returned(payout, attempt, status.reason);
        else await this.watchForReturn(payout.id, attempt.id);
        return;
      case 'failed':
        // The provider failed a transfer it had accepted: the one caller that may fail over an accepted attempt.
        await this.failOver(payout, attempt, status.error, { accepted: true });
        return;
    }
  }

  /**
   * Polls again: shortly (RetryLater) from a settle job's quick polls, then on the slow poll, which `countSlowPoll`
   * counts as a settle wait (a transfer still processing).
   */
  private async pollOn(
    payoutId: string,
    attemptId: string,
    pollDueAtMs: number | undefined,
    finalTry: boolean,
    why: string,
    { countSlowPoll = false } = {},
  ): Promise<void> {
    if (pollDueAtMs === undefined && !finalTry) throw new RetryLater(`transfer ${why}`);
    if (countSlowPoll) this.metrics.payoutWaits.inc({ step: 'settle', reason: 'processing' });
    await this.pollLater(payoutId, attemptId, pollDueAtMs ?? null);
  }

  /**
   * A transfer still processing after a settle job's quick polls is asked about again every
   * SETTLE_POLL_INTERVAL_MS: the attempt keeps when (settle_check_at, to the millisecond), so the sweeper queues
   * the poll only once it is overdue (Redis lost its job), and a delayed job asks then. Only the poll the attempt
   * is waiting for moves it on (`dueAtMs`; null: the hand-over from the quick polls): of two jobs for one due time
   * (the delayed one and the sweeper's) or two hand-overs, the second queues nothing, so the chains merge.
   */
  private async pollLater(payoutId: string, attemptId: string, dueAtMs: number | null): Promise<void> {
    const [rows]: [{ due: Date }[], number] = await this.db.query(
      `UPDATE payout_attempts
       SET settle_check_at = date_trunc('milliseconds', clock_timestamp() + make_interval(secs => $2 / 1000.0)),
           updated_at = clock_timestamp()
       WHERE id = $1 AND status = 'accepted'
         AND date_trunc('milliseconds', settle_check_at) IS NOT DISTINCT FROM to_timestamp($3::bigint / 1000.0)
       RETURNING settle_check_at AS due`,
      [attemptId, this.config.settlePollIntervalMs, dueAtMs],
    );
    if (!rows.length) return;
    const due = rows[0].due.getTime();
    await this.queues.enqueueSettle(
      { payoutId, attemptId, pollDueAtMs: due },
      this.config.settlePollIntervalMs,
      JobIds.settlePoll(attemptId, due),
    );
  }

  private async accepted(payout: PayoutRow, attempt: AttemptRow, transferId: string): Promise<void> {
    const movedHere = await this.db.transaction(async (tx) => {
      const moved = await this.moveAttempt(tx, payout.id, attempt.id, 'accepted', ['pending', 'unknown'], {
        providerTransferId: transferId,
        error: null,
      });
      if (!moved) return false;
      await this.bookings.bookSent(tx, {
        payoutId: payout.id,
        attemptSeq: attempt.seq,
        platform: payout.platform,
        provider: attempt.provider,
        gross: new MoneyDecimal(payout.gross),
      });
      return true;
    });
    // What this step just wrote is known; when another step got there first, the settlement check reads afresh.
    const known = movedHere ? { payout, attempt: { ...attempt, status: 'accepted' } } : undefined;
    await this.settleNowOrPoll(payout.id, attempt.id, known);
  }

  private async settled(payout: PayoutRow, attempt: AttemptRow, settledAt: Date): Promise<void> {
    const quote = attempt.quote;
    const fees = {
      fixed: new MoneyDecimal(quote.fees.fixed),
      percent: new MoneyDecimal(quote.fees.percent),
      fx: new MoneyDecimal(quote.fees.fx),
      intermediary: new MoneyDecimal(quote.fees.intermediary),
      total: new MoneyDecimal(quote.fees.total),
    };
    const net = new MoneyDecimal(quote.net);
    await this.db.transaction(async (tx) => {
      // The first check for a return is due in Postgres as well as queued: Redis may lose the delayed job.
      const firstCheckInMs = returnCheckDelay(0, this.config.returnCheckDelayMs, this.config.returnWindowMs)!;
      if (!(await this.moveAttempt(tx, payout.id, attempt.id, 'settled', ['accepted'], { firstCheckInMs })))
        return;
      const moved = await this.transition(tx, payout.id, 'settled', `settled via ${attempt.route_id}`, {
        fees: quote.fees,
        net: quote.net,
      });
      // An accepted attempt's payout is sending: one that is not has books this step must not add to.
      if (!moved)
        throw new Error(
          `Payout ${payout.id} has an accepted attempt but is not sending: its settlement is not booked.`,
        );
      await this.bookings.bookSettled(tx, {
        payoutId: payout.id,
        attemptSeq: attempt.seq,
        freelancerId: payout.freelancer_id!,
        provider: attempt.provider,
        gross: new MoneyDecimal(payout.gross),
        fees,
        net,
      });
      await this.invoices.markRealized(tx, {
        payoutId: payout.id,
        realizedAt: settledAt,
        route: { routeId: quote.routeId, provider: quote.provider, rail: quote.rail },
        routingFees: fees.total,
        netRealized: net,
      });
    });
  }

  /**
   * One check of a settled transfer for a return. A provider that does not answer costs this check, not the ones
   * after it: the next is queued all the same.
   */
  private async checkForReturn(payout: PayoutRow, attempt: AttemptRow, check: number): Promise<void> {
    // One chain of checks per transfer: a job for another check than the one due (a repeat, or one whose check
    // the sweeper queued again) does nothing. A transfer settled before checks were kept in Postgres is taken
    // over by the first job of its chain that runs.
    if (attempt.return_check === null) {
      const [, adopted] = await this.db.query(
        `UPDATE payout_attempts SET return_check = $2 WHERE id = $1 AND status = 'settled' AND return_check IS NULL`,
        [attempt.id, check],
      );
      if (!adopted) return;
    } else if (attempt.return_check !== check) {
      return;
    }
    try {
      const status = await this.statusAt(this.connectors.get(attempt.provider), attempt);
      if (status.state === 'returned') {
        await this.returned(payout, attempt, status.reason);
        return;
      }
    } catch (error) {
      this.logger.warn(`Return check ${check} of payout ${payout.id} failed: ${String(error)}`);
      // The last check has no later one to see a return it missed: it stays due, and runs again (its job's retry,
      // or the sweeper's once it is overdue) instead of closing the window unseen.
      if (returnCheckDelay(check + 1, this.config.returnCheckDelayMs, this.config.returnWindowMs) === null) {
        throw new RetryLater(`return check ${check} of payout ${payout.id} failed: ${String(error)}`);
      }
    }
    if (await this.nextReturnCheck(attempt.id, check))
      await this.watchForReturn(payout.id, attempt.id, check + 1);
  }

  /**
   * Records in Postgres that the check after `done` is due (when returnCheckDelay says), or that none is once the
   * window is covered (FINISHED_RETURN_CHECKS); the sweeper queues a due check Redis lost. Only while `done` was
   * the check due, so each check is followed once. Answers whether a next check is now due.
   */
  private async nextReturnCheck(attemptId: string, done: number): Promise<boolean> {
    const delay = returnCheckDelay(done + 1, this.config.returnCheckDelayMs, this.config.returnWindowMs);
    const [, updated] = await this.db.query(
      `UPDATE payout_attempts
          SET return_check = CASE WHEN $2::bigint IS NULL THEN $4::int ELSE $3::int + 1 END,
              return_check_at = clock_timestamp() + make_interval(secs => $2::bigint / 1000.0)
        WHERE id = $1 AND status = 'settled' AND return_check = $3::int`,
      [attemptId, delay, done, FINISHED_RETURN_CHECKS],
    );
    return delay !== null && updated > 0;
  }

  /**
   * "Paid" is not final: check `check` for a return comes RETURN_CHECK_DELAY_MS × 2^check after the one before
   * (the first after settling), the last one exactly at the end of RETURN_WINDOW_MS after settlement.
   */
  private async watchForReturn(payoutId: string, attemptId: string, check = 0): Promise<void> {
    const delay = returnCheckDelay(check, this.config.returnCheckDelayMs, this.config.returnWindowMs);
    if (delay === null) return;
    await this.queues
      .enqueueSettle({ payoutId, attemptId, returnCheck: check }, delay, JobIds.returnCheck(attemptId, check))
      .catch((error: Error) =>
        this.logger.warn(`Return check for payout ${payoutId} not queued: ${error.message}`),
      );
  }

  private async returned(payout: PayoutRow, attempt: AttemptRow, reason: string): Promise<void> {
    const quote = attempt.quote;
    await this.db.transaction(async (tx) => {
      if (!(await this.moveAttempt(tx, payout.id, attempt.id, 'returned', ['settled'], { error: reason })))
        return;
      if (
        !(await this.transition(tx, payout.id, 'returned', reason, { failureReason: `returned: ${reason}` }))
      )
        throw new Error(
          `Payout ${payout.id} has a settled attempt but is not settled: its return is not booked.`,
        );
      await this.invoices.markReturned(tx, { payoutId: payout.id, at: this.clock.now(), reason });
      await this.bookings.bookReturned(tx, {
        payoutId: payout.id,
        attemptSeq: attempt.seq,
        freelancerId: payout.freelancer_id!,
        provider: attempt.provider,
        platform: payout.platform,
        gross: new MoneyDecimal(payout.gross),
        fees: {
          fixed: new MoneyDecimal(quote.fees.fixed),
          percent: new MoneyDecimal(quote.fees.percent),
          fx: new MoneyDecimal(quote.fees.fx),
          intermediary: new MoneyDecimal(quote.fees.intermediary),
          total: new MoneyDecimal(quote.fees.total),
        },
        net: new MoneyDecimal(quote.net),
      });
    });
  }

  /**
   * A definite failure of one attempt: try the next-ranked eligible route, or fail the payout. Refused (false) while
   * a send of the attempt other than `ownSend` may still land: marked less than the send window ago. A `definite`
   * failure (the provider's own record of the key) is never refused.
   */
  private async failOver(
    payout: PayoutRow,
    attempt: AttemptRow,
    error: string,
    settled: { ownSend?: Date; definite?: boolean; askedAt?: Date; accepted?: boolean } = {},
  ): Promise<boolean> {
    let refused = false;
    const next = await this.db.transaction(async (tx) => {
      // A provider with no record of the key when asked rules out only the sends whose window was over by then.
      const since = (settled.askedAt ?? this.clock.now()).getTime() - this.sendWindowMs();
      const quiet = settled.definite
        ? undefined
        : { ownSend: settled.ownSend ?? null, since: new Date(since) };
      const moved = await this.moveAttempt(
        tx,
        payout.id,
        attempt.id,
        'failed',
        // Only a provider's failure of the transfer it accepted fails an accepted attempt; a failover decided on
        // what a send or a lookup said before (a refusal, "no record of the key") must not fail an attempt that
        // another job's send got accepted meanwhile: that money is on its way.
        settled.accepted ? ['accepted'] : ['pending', 'unknown'],
        { error },
        quiet,
      );
      if (!moved) {
        refused = quiet !== undefined && (await this.mayStillLand(tx, attempt.id));
        return null;
      }
      const gross = new MoneyDecimal(payout.gross);
      await this.bookings.bookAttemptRejected(tx, {
        payoutId: payout.id,
        attemptSeq: attempt.seq,
        platform: payout.platform,
        provider: attempt.provider,
        gross,
      });
      const next = await this.nextRoutes(tx, payout);
      // A route whose provider's breaker is open is waited for only when nothing else is left; the send then waits
      // for it, up to PROVIDER_WAIT_MAX_MS, before failing over. A route of a provider ops disabled is not eligible.
      const candidate = next.available ?? next.waiting;
      if (!candidate) {
        const reasons = `every eligible route failed; last: ${attempt.route_id}: ${error}`;
        if (!(await this.transition(tx, payout.id, 'failed', reasons, { failureReason: reasons })))
          throw new Error(
            `Payout ${payout.id} had an open attempt but is not routed or sending: its failure is not booked.`,
          );
        await this.bookings.bookFailed(tx, {
          payoutId: payout.id,
          freelancerId: payout.freelancer_id!,
          platform: payout.platform,
          gross,
        });
        await this.invoices.markFailed(tx, { payoutId: payout.id, at: this.clock.now(), reason: reasons });
        return null;
      }
      await this.timeline(
        tx,
        payout.id,
        'sending',
        `failing over from ${attempt.route_id} to ${candidate.routeId}`,
      );
      return (await this.createAttempt(tx, payout.id, candidate))?.id ?? null;
    });
    if (next) await this.queueSend(payout.id, next);
    return !refused;
  }

  private async routeActive(routeId: string): Promise<boolean> {
    return (await activeRoutes(this.db.manager, [routeId])).has(routeId);
  }

  /** Whether the attempt is still open (pending or unknown): a failover that moved nothing was held back. */
  private async mayStillLand(tx: EntityManager, attemptId: string): Promise<boolean> {
    const rows = await tx.query(
      `SELECT 1 FROM payout_attempts WHERE id = $1 AND status IN ('pending', 'unknown')`,
      [attemptId],
    );
    return rows.length > 0;
  }

  /**
   * Whether the payout may still wait for providers to come back: less than PROVIDER_WAIT_MAX_MS since it was last
   * received (from its platform, or again by an ops retry). Both times are the database's.
   */
  private async mayWaitForProviders(payoutId: string): Promise<boolean> {
    const [row] = await this.db.query(
      `SELECT coalesce(max(at), clock_timestamp()) > clock_timestamp() - make_interval(secs => $2::float8 / 1000)
              AS may
       FROM payout_timeline WHERE payout_id = $1 AND status = 'received'`,
      [payoutId, this.config.providerWaitMaxMs],
    );
    return row.may === true;
  }

  /**
   * The best route of the stored decision (its quotes and its standby) not yet tried in this routing round whose
   * provider can be sent to now (`available`), and the best one whose provider's breaker is open (`waiting`),
   * which is only waited for when nothing else is left. A provider ops disabled offers neither, nor does a route
   * ops switched off: they are never chosen while they are.
   */
  private async nextRoutes(
    manager: EntityManager,
    payout: PayoutRow,
  ): Promise<{ available: QuoteView | null; waiting: QuoteView | null }> {
    const tried: { route_id: string }[] = await manager.query(
      // Only this routing round's attempts: after an ops retry every route may be tried again.
      `SELECT a.route_id FROM payout_attempts a JOIN payouts p ON p.id = a.payout_id
       WHERE a.payout_id = $1 AND a.round = p.route_round`,
      [payout.id],
    );
    // Routes held back at routing by provider state only compete again, in rank, once their provider is back.
    const quotes = [...(payout.decision?.quotes ?? []), ...(payout.decision?.standby ?? [])].sort(
      compareQuoteViews,
    );
    const availability = new Map<string, ProviderAvailability>();
    for (const { provider } of quotes) {
      if (!availability.has(provider)) availability.set(provider, await this.health.availability(provider));
    }
    // A route ops switched off since the decision is not eligible any more: it counts as tried.
    const activeIds = await activeRoutes(
      manager,
      quotes.map((q) => q.routeId),
    );
    const triedIds = new Set([
      ...tried.map((t) => t.route_id),
      ...quotes.filter((q) => !activeIds.has(q.routeId)).map((q) => q.routeId),
    ]);
    return {
      available: nextCandidate(quotes, triedIds, (p) => availability.get(p) === 'available'),
      waiting: nextCandidate(quotes, triedIds, (p) => availability.get(p) === 'unhealthy'),
    };
  }

  /**
   * The guarded move out of received or unmatched, its timeline and the round's first attempt, in one statement.
   * On the fast path (`sendInline`) the payout passes through routed to sending within the statement (both
   * timeline rows are written, in that order), since its send starts right after this commit. Answers the
   * attempt, or null when the payout was not in a state that may be routed or its account was closed meanwhile.
   */
  private async routeAndCreateAttempt(
    tx: EntityManager,
    payoutId: string,
    payee: PayeeProfile,
    decision: RoutingDecision,
    first: QuoteView,
    sendInline: boolean,
  ): Promise<AttemptRow | null> {
    const to: PayoutStatus = sendInline ? 'sending' : 'routed';
    const rows: AttemptRow[] = await tx.query(
      `WITH moved AS (
         UPDATE payouts SET status = $7, freelancer_id = $2, account_id = $3, account_kind = $4, decision = $5,
                route_round = route_round + 1, updated_at = now()
         WHERE id = $1 AND status IN ('received', 'unmatched')
           -- The account is still open and still the default, and stays so until this commits: closing it or moving
           -- the default away waits for this share lock (and one that committed first leaves the payout unmoved, to
           -- be routed once more to the default as it is now).
           AND EXISTS (SELECT 1 FROM dollar_accounts a WHERE a.id = $3 AND a.closed_at IS NULL AND a.is_default
                       FOR SHARE)
         RETURNING id, route_round),
       tl AS (
         INSERT INTO payout_timeline (payout_id, status, detail)
         SELECT m.id, s.status, s.detail
         FROM moved m, (VALUES (1, 'routed', $6), (2, 'sending', $8)) AS s(n, status, detail)
         WHERE s.n = 1 OR $7 = 'sending' ORDER BY s.n)
       INSERT INTO payout_attempts (payout_id, seq, round, route_id, provider, quote, idempotency_key, status,
                                    last_send_at)
       SELECT m.id, n.seq, m.route_round, $9, $10, $11, m.id::text || ':' || n.seq, 'pending', $12
       FROM moved m, (SELECT coalesce(max(seq), 0) + 1 AS seq FROM payout_attempts WHERE payout_id = $1) n
       RETURNING *`,
      [
        payoutId,
        payee.freelancerId,
        payee.account!.id,
        payee.account!.kind,
        decision,
        `chosen ${first.routeId}`,
        to,
        `attempt 1 via ${first.routeId}`,
        first.routeId,
        first.provider,
        first,
        // The fast path sends right after this commits: the send counts as begun from here.
        sendInline ? this.clock.now() : null,
      ],
    );
    return rows[0] ?? null;
  }

  /** The next attempt of the payout's current routing round, numbered after every earlier attempt. */
  private async createAttempt(
    tx: EntityManager,
    payoutId: string,
    quote: QuoteView,
  ): Promise<AttemptRow | null> {
    const rows = await tx.query(
      `INSERT INTO payout_attempts (payout_id, seq, round, route_id, provider, quote, idempotency_key, status)
       SELECT p.id, n.seq, p.route_round, $2, $3, $4, p.id::text || ':' || n.seq, 'pending'
       FROM payouts p,
            (SELECT coalesce(max(seq), 0) + 1 AS seq FROM payout_attempts WHERE payout_id = $1) n
       WHERE p.id = $1
       ON CONFLICT (payout_id, seq) DO NOTHING RETURNING *`,
      [payoutId, quote.routeId, quote.provider, quote],
    );
    return rows[0] ?? null;
  }

  /**
   * The fast path: the first send runs in the routing job itself, saving a queue hop. Anything short of a final
   * answer hands the attempt to the send queue, whose retries and backoff take over.
   */
  private async sendNowOrQueue(payoutId: string, attemptId: string, known: Known): Promise<void> {
    try {
      await this.send(payoutId, attemptId, false, known);
    } catch (error) {
      if (!(error instanceof RetryLater))
        this.logger.warn(`Send of payout ${payoutId} failed: ${String(error)}`);
      await this.queueSend(payoutId, attemptId, RETRY_DELAY_MS);
    }
  }

  /** Asks once right after acceptance (a provider may settle at once); otherwise the settle queue polls. */
  private async settleNowOrPoll(payoutId: string, attemptId: string, known?: Known): Promise<void> {
    try {
      await this.settle({ payoutId, attemptId }, { known });
      return;
    } catch (error) {
      if (!(error instanceof RetryLater))
        this.logger.warn(`Settlement check of ${payoutId} failed: ${String(error)}`);
    }
    await this.queues
      .enqueueSettle({ payoutId, attemptId }, RETRY_DELAY_MS)
      .catch((error: Error) =>
        this.logger.warn(`Settlement poll for payout ${payoutId} not queued: ${error.message}`),
      );
  }

  /** Queues the attempt's send (under its own job id by default); what Redis refuses, the sweeper queues later. */
  private async queueSend(payoutId: string, attemptId: string, delayMs = 0, jobId?: string): Promise<void> {
    await this.queues
      .enqueueSend({ payoutId, attemptId }, { delay: delayMs, ...(jobId ? { jobId } : {}) })
      .catch((error: Error) =>
        this.logger.warn(`Send of payout ${payoutId} not queued yet (the sweeper will): ${error.message}`),
      );
  }

  /** Conditional status change plus its timeline row; answers false when the payout was not in a state that may move. */
  async transition(
    tx: EntityManager,
    payoutId: string,
    to: PayoutStatus,
    detail: string,
    extra: { failureReason?: string; fees?: QuoteView['fees']; net?: string } = {},
  ): Promise<boolean> {
    // One round trip: the timeline row is written only when the guarded update moved the payout.
    const moved = await tx.query(
      `WITH moved AS (
         UPDATE payouts SET status = $2, failure_reason = coalesce($4, failure_reason),
                fees = coalesce($6::jsonb, fees), net = coalesce($7::numeric, net),
                updated_at = now()
         WHERE id = $1 AND status = ANY($3::text[]) RETURNING id)
       INSERT INTO payout_timeline (payout_id, status, detail) SELECT id, $2, $5 FROM moved RETURNING payout_id`,
      [
        payoutId,
        to,
        fromStates(to),
        extra.failureReason ?? null,
        detail,
        extra.fees ? JSON.stringify(extra.fees) : null,
        extra.net ?? null,
      ],
    );
    if (!moved.length) return false;
    this.metrics.payoutTransitions.inc({ status: to });
    return true;
  }

  /**
   * Moves one attempt from one of `from` to `to`, and answers whether it moved. Every step that books the
   * ledger does this first, and the statement locks the payout row before the attempt row: two steps on one
   * payout (a settlement and a failover, say) queue on the payout in one order instead of deadlocking on the
   * ledger's own per-payout lock. When the attempt is not in a state that may move, nothing is locked and the
   * step does nothing. The lock is FOR NO KEY UPDATE: it excludes the other steps and every update of the payout,
   * but not the key-share lock of a foreign key check, so intake linking a later event to this payout does not
   * wait for the step to commit.
   */
  private async moveAttempt(
    tx: EntityManager,
    payoutId: string,
    attemptId: string,
    to: string,
    from: string[],
    fields: { providerTransferId?: string; error?: string | null; firstCheckInMs?: number } = {},
    /**
     * Only when no send of the attempt may still land: none marked, the mark older than `since`, or the mark the
     * caller's own send holds (sends of an attempt are marked one at a time).
     */
    quiet?: { ownSend: Date | null; since: Date },
  ): Promise<boolean> {
    const moved = await tx.query(
      `WITH payout AS (SELECT id FROM payouts WHERE id = $1 FOR NO KEY UPDATE),
            moved AS (
              UPDATE payout_attempts SET status = $3, provider_transfer_id = coalesce($5, provider_transfer_id),
                     error = CASE WHEN $6 THEN $7 ELSE error END, updated_at = clock_timestamp(),
                     return_check = CASE WHEN $11::bigint IS NULL THEN return_check ELSE 0 END,
                     return_check_at = CASE WHEN $11::bigint IS NULL THEN return_check_at
                                       ELSE clock_timestamp() + make_interval(secs => $11::bigint / 1000.0) END
              WHERE id = $2 AND status = ANY($4::text[]) AND payout_id = (SELECT id FROM payout)
                AND (NOT $8 OR status = 'accepted' OR last_send_at IS NULL OR last_send_at < $9
                     OR last_send_at = $10)
              RETURNING id)
       SELECT id FROM moved`,
      [
        payoutId,
        attemptId,
        to,
        from,
        fields.providerTransferId ?? null,
        fields.error !== undefined,
        fields.error ?? null,
        quiet !== undefined,
        quiet?.since ?? null,
        quiet?.ownSend ?? null,
        fields.firstCheckInMs ?? null,
      ],
    );
    return moved.length > 0;
  }

  private async timeline(tx: EntityManager, payoutId: string, status: string, detail: string): Promise<void> {
    await tx.query(`INSERT INTO payout_timeline (payout_id, status, detail) VALUES ($1, $2, $3)`, [
      payoutId,
      status,
      detail,
    ]);
  }

  private async loadPayout(manager: EntityManager, payoutId: string): Promise<PayoutRow | null> {
    const rows: PayoutRow[] = await manager.query(`SELECT * FROM payouts WHERE id = $1`, [payoutId]);
    return rows[0] ?? null;
  }

  private async loadAttempt(attemptId: string): Promise<AttemptRow | null> {
    const rows: AttemptRow[] = await this.db.query(`SELECT * FROM payout_attempts WHERE id = $1`, [
      attemptId,
    ]);
    return rows[0] ?? null;
  }
}

/** "24 h", "90 s", "1500 ms": how long a wait limit is, for a failure reason. */
function waitLimit(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** Which of `routeIds` ops have active now. */
async function activeRoutes(manager: EntityManager, routeIds: string[]): Promise<Set<string>> {
  const rows: { id: string }[] = await manager.query(
    `SELECT id FROM routes WHERE active AND id = ANY($1::text[])`,
    [routeIds],
  );
  return new Set(rows.map((r) => r.id));
}
