import { BeforeApplicationShutdown, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { ProblemException, Problems } from '../common/problem';
import { RateLimiter, Tally } from '../common/rate-limiter';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../ops/metrics.service';
import { PayoutInstruction } from '../payouts/payout-instruction';
import { PayoutQueues } from '../queues/payout-queues.service';
import { JobIds } from '../queues/queues';
import { adaptPayload } from './adapters/payout-adapters';
import { WebhookEventDto, WebhookReceiptDto } from './dto/webhook-event.dto';
import { parseJsonBody } from '../common/json-body';
import { IntakeConnection, PlatformConnectionsService } from './platform-connections.service';
import { RequestHeaders, Verification } from './signatures/signature-verifier';
import { VERIFIERS } from './signatures/signature-schemes';
import { EventRecord, WebhookEventsService } from './webhook-events.service';

/** A webhook as it arrived: the exact bytes, the headers, and the parsed JSON if the bytes were JSON. */
export interface WebhookDelivery {
  rawBody: Buffer;
  headers: RequestHeaders;
  json: { value: unknown } | null;
}

export interface WebhookAnswer {
  status: HttpStatus.OK | HttpStatus.ACCEPTED;
  body: WebhookReceiptDto;
}

/** Headers worth keeping with the event for ops and audits. Signatures are not kept; secrets never were. */
const KEPT_HEADERS = ['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp', 'x-request-id'];

type Outcome =
  'accepted' | 'duplicate' | 'bad_signature' | 'rejected' | 'ignored' | 'rate_limited' | 'not_json';

/**
 * The front door for money: connection → signature over the raw bytes → rate limit → JSON → store (unique per
 * connection and event id) → payout (unique per connection and platform payout id) → 202 → route job.
 * Nothing reaches Postgres before the signature holds, and a 202 is only sent once the event is committed.
 */
@Injectable()
export class WebhookIntakeService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookIntakeService.name);
  private readonly handOffs = new Set<Promise<void>>();

  constructor(
    private readonly connections: PlatformConnectionsService,
    private readonly events: WebhookEventsService,
    private readonly queues: PayoutQueues,
    private readonly limiter: RateLimiter,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async receive(connectionId: string, delivery: WebhookDelivery): Promise<WebhookAnswer> {
    let connection = await this.connections.findForIntake(connectionId);
    if (!connection) throw Problems.notFound('The platform connection');

    // Genuine and forged requests count in separate windows: whoever knows a connection id but not its
    // secret can exhaust only the forgeries' window, never throttle the platform's own deliveries.
    const nowMs = this.clock.now().getTime();
    let verification = verifySignature(connection, delivery, nowMs);
    let counted = await this.limit(connection.id, verification.valid);
    if (this.connections.isStale(connection, counted)) {
      // A secret was rotated, or the connection deleted, since this copy was read (maybe on another replica): the
      // row decides, before any refusal for the rate: a deleted connection answers 404 however busy it was.
      connection = await this.connections.findForIntake(connectionId, true);
      if (!connection) throw Problems.notFound('The platform connection');
      const verifiedBefore = verification.valid;
      verification = verifySignature(connection, delivery, nowMs);
      if (verification.valid && !verifiedBefore) counted = await this.limit(connection.id, true);
    }
    if (counted && !counted.admitted) {
      this.count('rate_limited');
      throw Problems.tooManyRequests(1);
    }
    if (!verification.valid) {
      this.count('bad_signature');
      this.logger.warn(`A webhook for connection ${connection.id} was refused: ${verification.reason}.`);
      throw Problems.unauthorized(`The webhook signature was not accepted: ${verification.reason}.`, null);
    }
    if (!delivery.json) {
      // The same event id again is a duplicate whatever its body; only a scheme with the id in a header can tell.
      if (verification.messageId && (await this.events.isStored(connection.id, verification.messageId))) {
        return this.duplicate(verification.messageId);
      }
      this.count('not_json');
      throw new ProblemException(
        HttpStatus.BAD_REQUEST,
        'invalid-json',
        'The request body is not valid JSON.',
        [{ field: 'body', message: 'must be a JSON document' }],
      );
    }

    const payload = delivery.json.value;
    // The id comes with the signature scheme, whatever the platform: a header, or (Stripe) the event's own id.
    const eventId =
      verification.messageId ??
      VERIFIERS[connection.scheme].bodyEventId(payload) ??
      bodyDigestId(delivery.rawBody);
    const adapted = adaptPayload(connection.platform, connection.scheme, payload);
    const record: EventRecord = {
      connectionId: connection.id,
      partnerId: connection.partnerId,
      eventId,
      type: adapted.type,
      rawBody: delivery.rawBody,
      headers: keptHeaders(delivery.headers, verification.signedAt),
    };

    if (adapted.kind === 'ignored') {
      if (!(await this.events.insertUnrouted(record, 'ignored', null))) return this.duplicate(eventId);
      this.count('ignored');
      return { status: HttpStatus.OK, body: { eventId, duplicate: false } };
    }
    if (adapted.kind === 'rejected') {
      if (!(await this.events.insertUnrouted(record, 'rejected', adapted.errors))) {
        return this.duplicate(eventId);
      }
      this.count('rejected');
      throw Problems.unprocessable(
        adapted.errors,
        'The event is signed but is not a valid payout event; it is kept for ops to see.',
      );
    }
    return this.accept(connection, record, adapted.instruction);
  }

  /**
   * Ops: reads a stored ignored or rejected event again from its raw body, as intake would now (after an adapter
   * learned a payload shape, say), and records what it makes of it: a payout, handed to routing as at intake, or
   * the same or other reasons to make none. The signature was checked when the event arrived. An accepted event
   * changes nothing; an event of a deleted connection is refused. Answers the event as it then stands.
   */
  async reprocess(rowId: string): Promise<WebhookEventDto> {
    const stored = await this.events.findStored(rowId);
    if (!stored) throw Problems.notFound('Webhook event');
    if (stored.status === 'accepted') return this.events.get(rowId);
    const deleted = () =>
      Problems.conflict(`The platform connection of event ${rowId} is deleted; its events make no payouts.`);
    if (stored.connectionDeleted) throw deleted();
    // Only signed JSON was ever stored (a body that was not JSON answered 400 and was kept nowhere).
    const payload = parseJsonBody(stored.record.rawBody, true);
    const adapted = adaptPayload(stored.platform, stored.scheme, payload);
    const record = { ...stored.record, type: adapted.type };
    if (adapted.kind === 'payout') {
      const connection = { id: record.connectionId, partnerId: record.partnerId, platform: stored.platform };
      try {
        await this.storeWithPayout(connection, record, adapted.instruction, rowId, 'stored');
      } catch (error) {
        // A deletion that committed since the check above: the same answer as for one before it.
        if (error instanceof ProblemException && error.getStatus() === HttpStatus.NOT_FOUND) throw deleted();
        throw error;
      }
    } else {
      const errors = adapted.kind === 'rejected' ? adapted.errors : null;
      await this.events.restateUnrouted(rowId, adapted.kind, adapted.type, errors);
    }
    this.logger.log(`Ops read webhook event ${rowId} again: it is now ${adapted.kind}.`);
    return this.events.get(rowId);
  }

  /** The event and its payout are stored in one statement (see WebhookEventsService.acceptWithPayout). */
  private async accept(
    connection: IntakeConnection,
    record: EventRecord,
    instruction: PayoutInstruction,
  ): Promise<WebhookAnswer> {
    const stored = await this.storeWithPayout(connection, record, instruction, randomUUID(), 'new');
    if (stored.duplicate) return this.duplicate(record.eventId);
    if (stored.conflict !== null) {
      this.count('rejected');
      throw Problems.unprocessable(
        [{ field: 'platformPayoutId', message: stored.conflict }],
        'The event is signed but disagrees with the payout already received for this platform payout; it is kept for ops to see.',
      );
    }
    this.count('accepted');
    return { status: HttpStatus.ACCEPTED, body: { eventId: record.eventId, duplicate: false } };
  }

  /** Stores the event (`new`, or moves the `stored` one) with its payout, and hands a new payout to routing. */
  private async storeWithPayout(
    connection: Pick<IntakeConnection, 'id' | 'partnerId' | 'platform'>,
    record: EventRecord,
    instruction: PayoutInstruction,
    rowId: string,
    row: 'new' | 'stored',
  ) {
    const stored = await this.events.acceptWithPayout(
      record,
      rowId,
      {
        partnerId: connection.partnerId,
        connectionId: connection.id,
        platform: connection.platform,
        sourceEventId: rowId,
      },
      instruction,
      row,
    );
    if (!stored.duplicate && stored.conflict === null && stored.created) {
      this.handOff(rowId, stored.payoutId, record.eventId);
    }
    return stored;
  }

  /**
   * Queues the route job after the answer is on its way: the committed event is what the 202 promises, and
   * a Redis that is slow or down must not hold the platform's request. What fails here the sweeper queues.
   */
  private handOff(id: string, payoutId: string, eventId: string): void {
    const handOff = this.queues
      .enqueueRoute({ payoutId, cause: `webhook ${eventId}` }, JobIds.routeFromEvent(id))
      .then(() => this.events.noteEnqueued(id))
      .catch((error: Error) =>
        this.logger.warn(
          `Event ${id} is stored but its route job was not queued (${error.message}); the sweeper will queue it.`,
        ),
      )
      .finally(() => this.handOffs.delete(handOff));
    this.handOffs.add(handOff);
  }

  /** Lets hand-offs in flight finish before the queues and the database close. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.handOffs]);
  }

  /**
   * Counts the delivery in its connection's window (genuine or not), reading the rotation epoch on the way; a
   * delivery over the limit is answered by the caller once the connection is known to stand.
   */
  private limit(connectionId: string, verified: boolean): Promise<Tally> {
    return this.limiter.count(
      verified ? 'webhook-connection' : 'webhook-connection-unverified',
      connectionId,
      this.config.webhookRateLimitPerSecond,
      { alsoRead: PlatformConnectionsService.rotationEpochKey(connectionId) },
    );
  }

  private duplicate(eventId: string): WebhookAnswer {
    this.count('duplicate');
    return { status: HttpStatus.OK, body: { eventId, duplicate: true } };
  }

  private count(outcome: Outcome): void {
    this.metrics.webhooks.inc({ outcome });
  }
}

/**
 * The connection's scheme over the delivery with its secret, then with each secret a rotation replaced that still
 * verifies. A refusal gives the current secret's reason.
 */
function verifySignature(
  connection: IntakeConnection,
  delivery: WebhookDelivery,
  nowMs: number,
): Verification {
  const verifier = VERIFIERS[connection.scheme];
  const nowSeconds = Math.floor(nowMs / 1000);
  const current = verifier.verify(delivery, connection.secret, nowSeconds);
  if (current.valid) return current;
  for (const previous of connection.previous) {
    if (nowMs >= previous.expiresAtMs) continue;
    const verification = verifier.verify(delivery, previous.secret, nowSeconds);
    if (verification.valid) return verification;
  }
  return current;
}

/** A signed payload that names no event id of its own is identified by its bytes: the same bytes dedupe. */
function bodyDigestId(rawBody: Buffer): string {
  return `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
}

function keptHeaders(headers: RequestHeaders, signedAt: number): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') kept[name] = value.slice(0, 500);
  }
  kept['signature-timestamp'] = String(signedAt);
  return kept;
}
