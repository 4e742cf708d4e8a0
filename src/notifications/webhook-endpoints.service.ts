import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { PageQuery, pageClause, toPage } from '../common/pagination';
import { Problems } from '../common/problem';
import { IdempotencyHold, IdempotencyService, keyUsedElsewhere } from '../partners/idempotency.service';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { RotateSecretDto } from '../partners/dto/rotate-secret.dto';
import {
  openFirstSecret,
  previousSecretExpiresAt,
  ROTATED_SECRET_TABLES,
  rotateSecret,
  sealCreatedCopy,
  sealCurrent,
  SecretStore,
  StoredPrevious,
} from '../partners/secret-rotation';
import {
  CreatedWebhookEndpointDto,
  CreateWebhookEndpointDto,
  DeliveryQuery,
  RotatedWebhookEndpointDto,
  RecoveredDeliveriesDto,
  WebhookDeliveryDto,
  WebhookDeliveryPageDto,
  WebhookEndpointDto,
  WebhookEndpointPageDto,
} from './dto/webhook-endpoint.dto';
import { DEFAULT_EVENT_TYPES, PartnerEventType } from './partner-events';
import { generateEndpointSecret } from './webhook-signer';
import { webhookUrlProblem } from './webhook-url';

interface EndpointRow {
  id: string;
  partner_id: string;
  url: string;
  secret_ciphertext: Buffer;
  previous_secrets: StoredPrevious[];
  created_secret_ciphertext: Buffer | null;
  request_hash: string | null;
  events: PartnerEventType[] | null;
  created_at: Date;
}

interface DeliveryRow {
  id: string;
  event_id: string;
  type: string;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  delivered_at: Date | null;
  created_at: Date;
  attempt_log: {
    attempt: number;
    at: string;
    statusCode: number | null;
    error: string | null;
    durationMs: number;
  }[];
}

/** An endpoint's secret is sealed for its id, so it cannot be moved to another row. */
export const ENDPOINT_SECRETS: SecretStore = {
  ...ROTATED_SECRET_TABLES.endpoints,
  live: 'deleted_at IS NULL',
  generate: generateEndpointSecret,
  noun: 'Webhook endpoint',
};

/**
 * A delivery made due again, now, for one attempt more: the dispatcher queues it (its job's id carries the attempt
 * count, which no job of the delivery used yet) and the attempt's outcome is final, not a new round of retries.
 */
const SEND_ONCE_MORE = `status = 'pending', next_attempt_at = now(), enqueued_at = NULL, attempt_limit = attempts + 1`;

/** Failed deliveries one recovery sends again at most. */
export const RECOVER_BATCH = 1_000;

/** Every event is sent to every endpoint of its partner: a bound on the fan-out of one partner's events. */
export const MAX_ENDPOINTS_PER_PARTNER = 10;

@Injectable()
export class WebhookEndpointsService {
  constructor(
    private readonly db: DataSource,
    private readonly idempotency: IdempotencyService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Registers an endpoint with a fresh secret, stored only encrypted. With an Idempotency-Key the same key and
   * body answer the first endpoint again (its secret decrypted); another body answers 422.
   */
  async create(
    partnerId: string,
    dto: CreateWebhookEndpointDto,
    idempotencyKey?: string,
  ): Promise<{ endpoint: CreatedWebhookEndpointDto; replayed: boolean }> {
    const problem = webhookUrlProblem(
      dto.url,
      this.config.nodeEnv === 'production',
      this.config.webhookTrustedHosts,
    );
    if (problem) throw Problems.validation([{ field: 'url', message: `url ${problem}` }]);

    const id = randomUUID();
    const secret = generateEndpointSecret();
    const events = dto.events ? [...dto.events].sort() : null;
    // The url alone when no events are named, as before they could be: a repeat keeps its first answer.
    const requestHash = idempotencyKey
      ? createHash('sha256')
          .update(events ? `${dto.url}\n${events.join(' ')}` : dto.url)
          .digest('hex')
      : null;
    const sealed = sealCurrent(this.config.secretKeys, ENDPOINT_SECRETS, id, secret);
    // The key's reservation commits only with the endpoint, or with the answer replayed: a refusal (409)
    // rolls it back with everything else.
    return this.db.transaction(async (tx) => {
      await this.idempotency.reserveForOwnReplay(
        tx,
        partnerId,
        idempotencyKey,
        `webhook-endpoints:${requestHash}`,
      );
      // One creator per partner at a time, so the count below is exact; NO KEY leaves foreign keys unblocked.
      await tx.query(`SELECT id FROM partners WHERE id = $1 FOR NO KEY UPDATE`, [partnerId]);
      const inserted: EndpointRow[] = await tx.query(
        `INSERT INTO webhook_endpoints
           (id, partner_id, url, secret_ciphertext, idempotency_key, request_hash, created_secret_ciphertext, events)
         SELECT $1, $2, $3, $4, $5, $6, $8, $9
         WHERE (SELECT count(*) FROM webhook_endpoints WHERE partner_id = $2 AND deleted_at IS NULL) < $7
         ON CONFLICT (partner_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING *`,
        [
          id,
          partnerId,
          dto.url,
          sealed,
          idempotencyKey ?? null,
          requestHash,
          MAX_ENDPOINTS_PER_PARTNER,
          sealCreatedCopy(this.config.secretKeys, ENDPOINT_SECRETS, id, secret, idempotencyKey),
          events,
        ],
      );
      if (inserted.length)
        return { endpoint: { ...toDto(inserted[0], this.clock.now().getTime()), secret }, replayed: false };

      const [first]: (EndpointRow | undefined)[] = idempotencyKey
        ? await tx.query(`SELECT * FROM webhook_endpoints WHERE partner_id = $1 AND idempotency_key = $2`, [
            partnerId,
            idempotencyKey,
          ])
        : [];
      if (!first) {
        throw Problems.conflict(
          `A partner may register at most ${MAX_ENDPOINTS_PER_PARTNER} webhook endpoints; delete one first.`,
          [{ field: 'url', message: `would be endpoint ${MAX_ENDPOINTS_PER_PARTNER + 1}` }],
        );
      }
      if (first.request_hash !== requestHash) throw keyUsedElsewhere();
      const opened = openFirstSecret(this.config.secretKeys, ENDPOINT_SECRETS, first);
      // As the first answer was: no secret of the endpoint had been replaced then.
      return {
        endpoint: {
          ...toDto(first, this.clock.now().getTime()),
          previousSecretExpiresAt: null,
          secret: opened,
        },
        replayed: true,
      };
    });
  }

  /**
   * Gives the endpoint a fresh secret, shown once. Until the secret it replaces expires (a day unless the body
   * says otherwise; 0 ends it at once), every delivery carries a signature with each, so the partner's receiver
   * verifies it whether it holds the old secret or the new one. With an Idempotency-Key, a repeat answers the same
   * new secret instead of rotating again.
   */
  async rotateSecret(
    partnerId: string,
    id: string,
    dto: RotateSecretDto,
    idempotencyKey?: string,
  ): Promise<{ endpoint: RotatedWebhookEndpointDto; replayed: boolean }> {
    const rotation = await this.db.transaction((tx) =>
      rotateSecret<EndpointRow>(tx, this.idempotency, this.config.secretKeys, ENDPOINT_SECRETS, {
        partnerId,
        id,
        validForSeconds: dto.previousSecretValidForSeconds,
        idempotencyKey,
        now: this.clock.now(),
      }),
    );
    return {
      endpoint: {
        ...toDto(rotation.row, this.clock.now().getTime()),
        previousSecretExpiresAt: rotation.previousExpiresAt?.toISOString() ?? null,
        secret: rotation.secret,
      },
      replayed: rotation.replayed,
    };
  }

  async list(partnerId: string, query: PageQuery): Promise<WebhookEndpointPageDto> {
    const params: unknown[] = [partnerId];
    const rows: EndpointRow[] = await this.db.query(
      `SELECT id, url, events, created_at, previous_secrets FROM webhook_endpoints
       WHERE partner_id = $1 AND deleted_at IS NULL${pageClause(query, params)}`,
      params,
    );
    const nowMs = this.clock.now().getTime();
    return toPage(rows, query, (row) => toDto(row, nowMs));
  }

  /** Stops deliveries to the endpoint: it leaves the list, and what was still pending is cancelled. */
  async remove(partnerId: string, id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [, count]: [unknown, number] = await tx.query(
        `UPDATE webhook_endpoints SET deleted_at = now() WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL`,
        [id, partnerId],
      );
      if (count === 0) throw Problems.notFound('Webhook endpoint');
      await tx.query(
        `UPDATE webhook_deliveries SET status = 'cancelled' WHERE endpoint_id = $1 AND status = 'pending'`,
        [id],
      );
    });
  }

  async deliveries(
    partnerId: string,
    endpointId: string,
    query: DeliveryQuery,
  ): Promise<WebhookDeliveryPageDto> {
    await this.requireEndpoint(this.db.manager, partnerId, endpointId);
    const params: unknown[] = [endpointId];
    let where = `d.endpoint_id = $1`;
    if (query.status !== undefined) {
      params.push(query.status);
      where += ` AND d.status = $${params.length}`;
    }
    const rows = await this.deliveryRows(`${where}${pageClause(query, params, 'd')}`, params);
    return toPage(rows, query, toDeliveryDto);
  }

  /**
   * Sends again, once each, the endpoint's failed deliveries made since `since` (oldest first, at most
   * RECOVER_BATCH a call: a second call takes the rest, as those sent again are no longer failed): for a partner
   * back after an outage longer than the retries. The dispatcher queues them, within the endpoint's in-flight cap.
   */
  async recover(
    partnerId: string,
    endpointId: string,
    since: string,
    hold: IdempotencyHold | null = null,
  ): Promise<RecoveredDeliveriesDto> {
    return this.db.transaction(async (tx) => {
      await this.requireEndpoint(tx, partnerId, endpointId, true);
      const [, count]: [unknown, number] = await tx.query(
        // Claimed in one order, skipping rows another recovery holds: two at once share the work, never deadlock.
        `WITH batch AS (
           SELECT id FROM webhook_deliveries
           WHERE endpoint_id = $1 AND status = 'failed' AND created_at >= $2::timestamptz
           ORDER BY created_at, id LIMIT $3
           FOR UPDATE SKIP LOCKED)
         UPDATE webhook_deliveries d SET ${SEND_ONCE_MORE} FROM batch WHERE d.id = batch.id`,
        // Postgres reads the instant itself, to the microsecond; the DTO checked it is one.
        [endpointId, since, RECOVER_BATCH],
      );
      const answer = { redelivering: count };
      await this.idempotency.completeIn(tx, hold, answer);
      return answer;
    });
  }

  /**
   * Sends a delivered or failed delivery once more, at once: one attempt, logged with the others (a partner whose
   * endpoint was down past the retries, or who lost an event). A pending one is on its way already and is
   * answered as it is. The endpoint's row is held against deletion meanwhile, so no delivery of a deleted
   * endpoint is left pending.
   */
  async redeliver(
    partnerId: string,
    endpointId: string,
    deliveryId: string,
    hold: IdempotencyHold | null = null,
  ): Promise<WebhookDeliveryDto> {
    return this.db.transaction(async (tx) => {
      await this.requireEndpoint(tx, partnerId, endpointId, true);
      await tx.query(
        `UPDATE webhook_deliveries SET ${SEND_ONCE_MORE}
         WHERE id = $1 AND endpoint_id = $2 AND status IN ('delivered', 'failed')`,
        [deliveryId, endpointId],
      );
      const [row] = await this.deliveryRows(`d.id = $1 AND d.endpoint_id = $2`, [deliveryId, endpointId], tx);
      if (!row) throw Problems.notFound('Webhook delivery');
      const answer = toDeliveryDto(row);
      // The key's answer commits with the redelivery: a crash between the two cannot let a retry send it again.
      await this.idempotency.completeIn(tx, hold, answer);
      return answer;
    });
  }

  /** Throws 404 unless the endpoint is the partner's and not deleted; `hold` keeps it so until the commit. */
  private async requireEndpoint(
    manager: EntityManager,
    partnerId: string,
    endpointId: string,
    hold = false,
  ): Promise<void> {
    const owned: unknown[] = await manager.query(
      `SELECT 1 FROM webhook_endpoints WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL${hold ? ' FOR SHARE' : ''}`,
      [endpointId, partnerId],
    );
    if (!owned.length) throw Problems.notFound('Webhook endpoint');
  }

  private deliveryRows(where: string, params: unknown[], manager: EntityManager = this.db.manager) {
    return manager.query(
      `SELECT d.id, d.event_id, e.type, d.status, d.attempts, d.next_attempt_at, d.delivered_at, d.created_at,
              COALESCE((SELECT json_agg(json_build_object(
                  'attempt', a.attempt, 'at', a.at, 'statusCode', a.status_code, 'error', a.error,
                  'durationMs', a.duration_ms) ORDER BY a.attempt)
                FROM webhook_delivery_attempts a WHERE a.delivery_id = d.id), '[]') AS attempt_log
       FROM webhook_deliveries d JOIN partner_events e ON e.id = d.event_id
       WHERE ${where}`,
      params,
    ) as Promise<DeliveryRow[]>;
  }
}

/** An endpoint as the API shows it; `previousSecretExpiresAt` as it stands at `nowMs`. */
function toDto(
  row: Pick<EndpointRow, 'id' | 'url' | 'events' | 'created_at' | 'previous_secrets'>,
  nowMs: number,
): WebhookEndpointDto {
  return {
    id: row.id,
    url: row.url,
    events: row.events ?? [...DEFAULT_EVENT_TYPES],
    createdAt: row.created_at.toISOString(),
    previousSecretExpiresAt: previousSecretExpiresAt(row, nowMs),
  };
}

function toDeliveryDto(row: DeliveryRow): WebhookDeliveryDto {
  return {
    id: row.id,
    eventId: row.event_id,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    deliveredAt: row.delivered_at ? row.delivered_at.toISOString() : null,
    attemptLog: row.attempt_log.map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
    createdAt: row.created_at.toISOString(),
  };
}
