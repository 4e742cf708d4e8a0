import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import type { LookupFunction } from 'node:net';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DEFAULT_JOB_OPTIONS, JobIds, PartnerWebhookJobData, QUEUES } from '../queues/queues';
import { describeSendError, eventBody, PartnerEventType } from './partner-events';
import { maxAttempts, retryDelayMs, RetryPolicy } from './retry-schedule';
import { ENDPOINT_SECRETS } from './webhook-endpoints.service';
import { openCurrent, StoredPrevious, workingPrevious } from '../partners/secret-rotation';
import { SecretBoxError } from '../common/secret-box';
import { signWebhook } from './webhook-signer';
import { postOnce } from './post-once';
import {
  anyAddressLookup,
  isTrustedHost,
  plainHttpProblem,
  privateLiteralProblem,
  publicOnlyLookup,
} from './webhook-url';
import { dnsResolver } from './host-resolver';

/** Slack on top of the POST timeout before an attempt in flight counts as lost (its worker died). */
const IN_FLIGHT_GRACE_MS = 60_000;

interface ClaimedDelivery {
  attempts: number;
  /** The last attempt this delivery gets; null for the retry policy's limit. */
  attempt_limit: number | null;
  url: string;
  endpoint_id: string;
  secret_ciphertext: Buffer;
  /** The secrets the endpoint's rotations replaced (some may have expired). */
  previous_secrets: StoredPrevious[];
  event_id: string;
  type: PartnerEventType;
  payload: Record<string, unknown>;
  event_created_at: Date;
}

export type AttemptOutcome = 'delivered' | 'retry' | 'failed' | 'skipped' | 'waiting';

/** What the delivery log says of an attempt whose worker stopped before it recorded an outcome. */
const CUT_OFF = 'no outcome recorded: the attempt was cut off when its worker stopped; sent again';
/** The same of the delivery's last attempt, after which it is failed instead of sent again. */
const LAST_CUT_OFF = 'no outcome recorded: the last attempt was cut off when its worker stopped';

/** How long an attempt whose endpoint has no free slot waits before it asks again: doubling, up to the cap. */
const SLOT_WAIT_MS = 1_000;
const SLOT_WAIT_CAP_MS = 30_000;

/** An attempt that sent nothing, for a reason its message gives whole (not a failed request). */
class NotSent extends Error {}

/**
 * One delivery attempt: claim it in Postgres (attempts = expected count, so a duplicate job does nothing),
 * POST the signed event, record the answer, and queue the next attempt on the retry schedule or give up.
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);
  private readonly policy: RetryPolicy;
  private readonly attemptLimit: number;
  /** In production a delivery connects only to public addresses, checked as the connection resolves them. */
  private readonly publicOnly: LookupFunction;
  /** Partners' hosts outside production, not checked. */
  private readonly anyAddress: LookupFunction;

  constructor(
    private readonly db: DataSource,
    @InjectQueue(QUEUES.partnerWebhooks) private readonly queue: Queue<PartnerWebhookJobData>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const { retryBaseMs, retryCapMs, retryWindowMs } = config.partnerWebhooks;
    this.policy = { baseMs: retryBaseMs, capMs: retryCapMs, windowMs: retryWindowMs };
    this.attemptLimit = maxAttempts(this.policy);
    const resolve = dnsResolver(config.partnerWebhooks.timeoutMs);
    this.publicOnly = publicOnlyLookup(resolve);
    this.anyAddress = anyAddressLookup(resolve);
  }

  async attempt(deliveryId: string, expectedAttempts: number, waits = 0): Promise<AttemptOutcome> {
    const { timeoutMs, maxInFlightPerEndpoint, maxInFlightPerPartner } = this.config.partnerWebhooks;
    // Claimed only while its endpoint and its partner have a free slot: slow or hanging endpoints hold at most
    // that many workers, whatever their backlog and however many one partner registers, and every other partner's
    // deliveries go on. Claims of one partner take turns on its row, so each counts the slots the ones before it
    // took.
    const claimed = await this.db.transaction(async (tx) => {
      await tx.query(
        `SELECT 1 FROM partners p JOIN webhook_deliveries d ON d.partner_id = p.id WHERE d.id = $1
         FOR NO KEY UPDATE OF p`,
        [deliveryId],
      );
      // An attempt claimed before and never recorded was cut off with its worker (its outcome is unknown): the
      // log says so instead of skipping its number. The in-flight window had passed before this claim could run.
      await tx.query(
        `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
         SELECT d.id, d.attempts, d.last_attempt_at, NULL,
                CASE WHEN d.attempts >= coalesce(d.attempt_limit, $5) THEN $4 ELSE $3 END, 0
         FROM webhook_deliveries d
         WHERE d.id = $1 AND d.status = 'pending' AND d.attempts = $2 AND d.attempts > 0
           AND d.last_attempt_at IS NOT NULL AND d.in_flight_until IS NOT NULL AND d.in_flight_until <= now()
         ON CONFLICT DO NOTHING`,
        [deliveryId, expectedAttempts, CUT_OFF, LAST_CUT_OFF, this.attemptLimit],
      );
      // An UPDATE … RETURNING answers [rows, affected count] through this driver.
      const [[row]]: [ClaimedDelivery[], number] = await tx.query(
        `UPDATE webhook_deliveries d
         SET attempts = d.attempts + 1, last_attempt_at = now(),
             next_attempt_at = now() + make_interval(secs => $3 / 1000.0),
             in_flight_until = now() + make_interval(secs => $3 / 1000.0)
         FROM webhook_endpoints w, partner_events e
         WHERE d.id = $1 AND d.status = 'pending' AND d.attempts = $2 AND d.attempts < coalesce(d.attempt_limit, $6)
           AND w.id = d.endpoint_id AND w.deleted_at IS NULL AND e.id = d.event_id
           AND (SELECT count(*) FROM webhook_deliveries busy
                WHERE busy.endpoint_id = d.endpoint_id AND busy.in_flight_until > now()) < $4
           AND (SELECT count(*) FROM webhook_deliveries busy
                WHERE busy.partner_id = d.partner_id AND busy.in_flight_until > now()) < $5
         RETURNING d.attempts, d.attempt_limit, w.url, w.id AS endpoint_id, w.secret_ciphertext, w.previous_secrets,
                   e.id AS event_id, e.type,
                   e.payload, e.created_at AS event_created_at`,
        [
          deliveryId,
          expectedAttempts,
          timeoutMs + IN_FLIGHT_GRACE_MS,
          maxInFlightPerEndpoint,
          maxInFlightPerPartner,
          this.attemptLimit,
        ],
      );
      if (row) return row as ClaimedDelivery;
      // Not claimed. A delivery that has had every attempt it gets fails, as after a last refusal: its last attempt
      // was cut off with its worker, or the schedule became shorter since that attempt (a deploy) and it has none
      // left.
      const [, exhausted]: [unknown, number] = await tx.query(
        `UPDATE webhook_deliveries d
         SET status = 'failed', in_flight_until = NULL,
             last_status_code = CASE WHEN d.in_flight_until IS NULL THEN d.last_status_code END,
             last_error = CASE WHEN d.in_flight_until IS NULL THEN d.last_error ELSE $3 END
         WHERE d.id = $1 AND d.status = 'pending' AND d.attempts = $2 AND d.attempts >= coalesce(d.attempt_limit, $4)
           AND (d.in_flight_until IS NULL OR d.in_flight_until <= now())`,
        [deliveryId, expectedAttempts, LAST_CUT_OFF, this.attemptLimit],
      );
      return exhausted ? ('exhausted' as const) : undefined;
    });
    if (claimed === 'exhausted') return 'failed';
    if (!claimed) return this.waitForSlot(deliveryId, expectedAttempts, waits);

    const body = eventBody({
      id: claimed.event_id,
      type: claimed.type,
      createdAt: claimed.event_created_at,
      payload: claimed.payload,
    });
    // Signed with every secret that works, the current one first, so the receiver verifies with whichever it holds.
    const endpoint = {
      id: claimed.endpoint_id,
      secret_ciphertext: claimed.secret_ciphertext,
      previous_secrets: claimed.previous_secrets,
    };
    const started = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const secrets = this.signingSecrets(deliveryId, endpoint);
      const trusted = isTrustedHost(claimed.url, this.config.webhookTrustedHosts);
      const guarded = this.config.nodeEnv === 'production' && !trusted;
      const refused = guarded ? (plainHttpProblem(claimed.url) ?? privateLiteralProblem(claimed.url)) : null;
      if (refused) throw new Error(`refused to send: ${refused}`);
      const headers = signWebhook(secrets, claimed.event_id, Math.floor(Date.now() / 1000), body);
      statusCode = await postOnce(claimed.url, {
        headers: { 'content-type': 'application/json', 'user-agent': 'payout-router-webhooks/1', ...headers },
        body,
        timeoutMs,
        // A host ops trust is a receiver of their own network, resolved as the system resolves names (its
        // search domains and hosts file: a short service name); partners' hosts only by our own DNS queries.
        lookup: guarded ? this.publicOnly : trusted ? undefined : this.anyAddress,
      });
      if (statusCode < 200 || statusCode > 299) error = `answered HTTP ${statusCode}`;
    } catch (thrown) {
      error = thrown instanceof NotSent ? thrown.message : describeSendError(thrown, timeoutMs);
    }
    const durationMs = Date.now() - started;
    const attempt = claimed.attempts;
    const outcome: AttemptOutcome =
      error === null
        ? 'delivered'
        : attempt >= (claimed.attempt_limit ?? this.attemptLimit)
          ? 'failed'
          : 'retry';
    const delayMs = outcome === 'retry' ? retryDelayMs(this.policy, attempt) : 0;

    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
         VALUES ($1, $2, to_timestamp($3 / 1000.0), $4, $5, $6) ON CONFLICT DO NOTHING`,
        [deliveryId, attempt, started, statusCode, error, durationMs],
      );
      await tx.query(
        `UPDATE webhook_deliveries
         SET status = CASE $3::text WHEN 'retry' THEN 'pending' ELSE $3::text END,
             delivered_at = CASE WHEN $3::text = 'delivered' THEN now() ELSE delivered_at END,
             next_attempt_at = now() + make_interval(secs => $4 / 1000.0),
             last_status_code = $5, last_error = $6, enqueued_at = now(), in_flight_until = NULL
         WHERE id = $1 AND status = 'pending' AND attempts = $2`,
        [deliveryId, attempt, outcome, delayMs, statusCode, error],
      );
    });
    if (outcome === 'retry') {
      await this.queue.add(
        'deliver',
        { deliveryId, attempt },
        {
          ...DEFAULT_JOB_OPTIONS['partner-webhooks'],
          jobId: JobIds.partnerWebhook(deliveryId, attempt),
          delay: delayMs,
        },
      );
    }
    return outcome;
  }

  /**
   * Every secret the attempt is signed with, the current one first. One that does not open (sealed under a key this
   * process is not given: an old key dropped from SECRETS_KEYS_DECRYPT_ONLY before every value was sealed again)
   * is the attempt's outcome (NotSent), recorded like any other so that the schedule and its last attempt still
   * hold.
   */
  private signingSecrets(
    deliveryId: string,
    endpoint: { id: string; secret_ciphertext: Buffer; previous_secrets: StoredPrevious[] },
  ): string[] {
    try {
      return [
        openCurrent(this.config.secretKeys, ENDPOINT_SECRETS, endpoint),
        ...workingPrevious(this.config.secretKeys, ENDPOINT_SECRETS, endpoint, Date.now()).map(
          (p) => p.secret,
        ),
      ];
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      this.logger.error(`Delivery ${deliveryId} not sent: ${error.message} See SECRETS_KEYS_DECRYPT_ONLY.`);
      throw new NotSent(`not sent: a signing secret of the endpoint does not open: ${error.message}`);
    }
  }

  /**
   * Not claimed: either the attempt is no longer due (done, or another job's), or its endpoint has no free slot,
   * and then it asks again shortly, under a job id of its own.
   */
  private async waitForSlot(
    deliveryId: string,
    expectedAttempts: number,
    waits: number,
  ): Promise<AttemptOutcome> {
    // Still due: marked queued again, so the dispatcher does not take a delivery waiting its turn for one Redis
    // lost and start a second chain of waits beside this one.
    const [, due]: [unknown, number] = await this.db.query(
      `UPDATE webhook_deliveries d SET enqueued_at = now()
       FROM webhook_endpoints w
       WHERE d.id = $1 AND d.status = 'pending' AND d.attempts = $2
         AND w.id = d.endpoint_id AND w.deleted_at IS NULL`,
      [deliveryId, expectedAttempts],
    );
    if (!due) return 'skipped';
    await this.queue.add(
      'deliver',
      { deliveryId, attempt: expectedAttempts, waits: waits + 1 },
      {
        ...DEFAULT_JOB_OPTIONS['partner-webhooks'],
        jobId: JobIds.partnerWebhook(deliveryId, expectedAttempts, waits + 1),
        delay: Math.min(SLOT_WAIT_MS * 2 ** Math.min(waits, 5), SLOT_WAIT_CAP_MS),
      },
    );
    return 'waiting';
  }
}
