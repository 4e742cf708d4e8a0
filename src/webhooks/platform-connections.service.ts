import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { canonicalJson } from '../common/canonical-json';
import { PageQuery, pageClause, toPage } from '../common/pagination';
import { Problems } from '../common/problem';
import { IdempotencyService, keyUsedElsewhere } from '../partners/idempotency.service';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { Counted } from '../common/rate-limiter';
import {
  OpenedPrevious,
  openCurrent,
  openFirstSecret,
  previousSecretExpiresAt,
  ROTATED_SECRET_TABLES,
  rotateSecret,
  sealCreatedCopy,
  sealCurrent,
  SecretStore,
  StoredPrevious,
  workingPrevious,
} from '../partners/secret-rotation';
import { RotateSecretDto } from '../partners/dto/rotate-secret.dto';
import { RedisEpoch } from '../redis/epoch';
import { RedisService } from '../redis/redis.module';
import {
  CreatedPlatformConnectionDto,
  CreatePlatformConnectionDto,
  PlatformConnectionDto,
  PlatformConnectionPageDto,
  RotatedSigningSecretDto,
} from './dto/platform-connection.dto';
import { defaultScheme, generateSigningSecret, Platform, webhookUrl } from './platforms';
import { SignatureScheme } from './signatures/signature-schemes';

interface ConnectionRow {
  id: string;
  partner_id: string;
  platform: Platform;
  scheme: SignatureScheme;
  secret_ciphertext: Buffer;
  previous_secrets: StoredPrevious[];
  created_secret_ciphertext: Buffer | null;
  request_hash: string | null;
  created_at: Date;
}

/** A connection's secret is sealed for its id (as since the first connection). */
const CONNECTION_SECRETS: SecretStore = {
  ...ROTATED_SECRET_TABLES.connections,
  live: 'deleted_at IS NULL',
  generate: generateSigningSecret,
  noun: 'Platform connection',
};

/** What webhook intake needs of a connection, with its secret opened. */
export interface IntakeConnection {
  id: string;
  partnerId: string;
  platform: Platform;
  scheme: SignatureScheme;
  secret: string;
  /** The replaced secrets that still verified when the copy was read, with the time each stops, newest first. */
  previous: OpenedPrevious[];
  /** The connection's rotation epoch this copy was read under; null when Redis could not say. */
  epoch: string | null;
}

/**
 * Opened connections are kept this long, so intake does not read and decrypt the same row on every delivery.
 * A rotation bumps an epoch in Redis that intake reads with its rate-limit count, so every replica reads the
 * row again at its next delivery; the time bounds a rotation whose bump Redis did not take.
 */
const INTAKE_CACHE_MS = 30_000;
const INTAKE_CACHE_MAX = 10_000;
const ROTATION_EPOCH_PREFIX = 'webhooks:secret-epoch';

@Injectable()
export class PlatformConnectionsService {
  private readonly intakeCache = new Map<string, { connection: IntakeConnection; until: number }>();
  private readonly rotations: RedisEpoch;

  /** The Redis key (under the client's prefix) whose value changes whenever the connection's secret is rotated. */
  static rotationEpochKey(connectionId: string): string {
    return `${ROTATION_EPOCH_PREFIX}:${connectionId}`;
  }

  constructor(
    private readonly db: DataSource,
    private readonly idempotency: IdempotencyService,
    private readonly clock: Clock,
    redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.rotations = new RedisEpoch(redis, ROTATION_EPOCH_PREFIX, 'connection caches');
  }

  /**
   * Creates a connection with a fresh signing secret, stored only encrypted. With an Idempotency-Key the
   * same key and body answer the first connection again (its secret decrypted); another body answers 422.
   */
  async create(
    partnerId: string,
    dto: CreatePlatformConnectionDto,
    idempotencyKey?: string,
  ): Promise<{ connection: CreatedPlatformConnectionDto; replayed: boolean }> {
    const id = randomUUID();
    const secret = generateSigningSecret();
    const scheme = dto.scheme ?? defaultScheme(dto.platform);
    const requestHash = idempotencyKey
      ? createHash('sha256')
          .update(canonicalJson({ platform: dto.platform, scheme: dto.scheme ?? null }))
          .digest('hex')
      : null;
    // The key's reservation commits only with the connection, or with the answer replayed.
    return this.db.transaction(async (tx) => {
      await this.idempotency.reserveForOwnReplay(
        tx,
        partnerId,
        idempotencyKey,
        `platform-connections:${requestHash}`,
      );
      const inserted: ConnectionRow[] = await tx.query(
        `INSERT INTO platform_connections
           (id, partner_id, platform, scheme, secret_ciphertext, idempotency_key, request_hash, created_secret_ciphertext)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (partner_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING *`,
        [
          id,
          partnerId,
          dto.platform,
          scheme,
          sealCurrent(this.config.secretKeys, CONNECTION_SECRETS, id, secret),
          idempotencyKey ?? null,
          requestHash,
          sealCreatedCopy(this.config.secretKeys, CONNECTION_SECRETS, id, secret, idempotencyKey),
        ],
      );
      if (inserted.length) return { connection: toCreated(inserted[0], secret), replayed: false };

      const [first]: ConnectionRow[] = await tx.query(
        `SELECT * FROM platform_connections WHERE partner_id = $1 AND idempotency_key = $2`,
        [partnerId, idempotencyKey],
      );
      if (first.request_hash !== requestHash) throw keyUsedElsewhere();
      const firstSecret = openFirstSecret(this.config.secretKeys, CONNECTION_SECRETS, first);
      return { connection: toCreated(first, firstSecret), replayed: true };
    });
  }

  /**
   * Gives the connection a fresh signing secret, shown once (rules in secret-rotation.ts). The secrets it replaced
   * go on verifying until they expire, so deliveries signed while the platform moves over are not refused. Every
   * replica learns of it at its next delivery for the connection, through the connection's epoch in Redis.
   */
  async rotateSecret(
    partnerId: string,
    id: string,
    dto: RotateSecretDto,
    idempotencyKey?: string,
  ): Promise<{ rotated: RotatedSigningSecretDto; replayed: boolean }> {
    const rotation = await this.db.transaction((tx) =>
      rotateSecret<ConnectionRow>(tx, this.idempotency, this.config.secretKeys, CONNECTION_SECRETS, {
        partnerId,
        id,
        validForSeconds: dto.previousSecretValidForSeconds,
        idempotencyKey,
        now: this.clock.now(),
      }),
    );
    if (!rotation.replayed) {
      this.intakeCache.delete(id);
      await this.rotations.bump(id);
    }
    return {
      rotated: {
        ...toCreated(rotation.row, rotation.secret),
        previousSecretExpiresAt: rotation.previousExpiresAt?.toISOString() ?? null,
      },
      replayed: rotation.replayed,
    };
  }

  /**
   * Deletes the connection: webhooks to it answer 404 from then on, on every replica at its next delivery for it
   * (the rotation epoch is bumped). Its events and the payouts they made stay, and go on to the end.
   */
  async remove(partnerId: string, id: string): Promise<void> {
    const [, count]: [unknown, number] = await this.db.query(
      `UPDATE platform_connections SET deleted_at = now() WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL`,
      [id, partnerId],
    );
    if (count === 0) throw Problems.notFound('Platform connection');
    this.intakeCache.delete(id);
    await this.rotations.bump(id);
  }

  async get(partnerId: string, id: string): Promise<PlatformConnectionDto> {
    const rows: ConnectionRow[] = await this.db.query(
      `SELECT * FROM platform_connections WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL`,
      [id, partnerId],
    );
    if (!rows.length) throw Problems.notFound('Platform connection');
    return toDto(rows[0], this.clock.now().getTime());
  }

  async list(partnerId: string, query: PageQuery): Promise<PlatformConnectionPageDto> {
    const params: unknown[] = [partnerId];
    const rows: ConnectionRow[] = await this.db.query(
      `SELECT * FROM platform_connections WHERE partner_id = $1 AND deleted_at IS NULL${pageClause(query, params)}`,
      params,
    );
    const nowMs = this.clock.now().getTime();
    return toPage(rows, query, (row) => toDto(row, nowMs));
  }

  /**
   * The connection a webhook is addressed to, whoever owns it, or null: the copy in memory unless `fresh`, or
   * the row read again.
   */
  async findForIntake(id: string, fresh = false): Promise<IntakeConnection | null> {
    const cached = fresh ? undefined : this.intakeCache.get(id);
    if (cached && cached.until > Date.now()) return cached.connection;
    // The epoch is read before the row: a rotation in between leaves this copy marked stale, never a stale copy
    // unmarked. It is only looked at here, since anyone may post to any id: one is started (and the row read
    // again under it) only once the row shows the connection exists.
    const peeked = await this.rotations.peek(id);
    let epoch = peeked?.value ?? null;
    let row = await this.intakeRow(id);
    if (row && peeked && peeked.value === null) {
      epoch = await this.rotations.read(id);
      row = await this.intakeRow(id);
    }
    if (!row) {
      // Deleted: the copy this replica may hold must not answer for it again.
      this.intakeCache.delete(id);
      return null;
    }
    const connection: IntakeConnection = {
      id: row.id,
      partnerId: row.partner_id,
      platform: row.platform,
      scheme: row.scheme,
      secret: openCurrent(this.config.secretKeys, CONNECTION_SECRETS, row),
      previous: workingPrevious(this.config.secretKeys, CONNECTION_SECRETS, row, this.clock.now().getTime()),
      epoch,
    };
    if (this.intakeCache.size >= INTAKE_CACHE_MAX) this.intakeCache.clear();
    this.intakeCache.set(id, { connection, until: Date.now() + INTAKE_CACHE_MS });
    return connection;
  }

  private async intakeRow(id: string): Promise<ConnectionRow | null> {
    const rows: ConnectionRow[] = await this.db.query(
      `SELECT id, partner_id, platform, scheme, secret_ciphertext, previous_secrets
       FROM platform_connections WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    return rows[0] ?? null;
  }

  /**
   * Whether the secret may have been rotated since the copy was read, on this replica or another: `counted`
   * carries the connection's epoch, read with intake's rate-limit count (rotationEpochKey). A copy read while
   * Redis could not say is stale as soon as Redis answers again, and so is every copy once the epoch is missing
   * (a Redis restarted empty); while Redis cannot answer, nothing can be told, and the copy lives out its
   * INTAKE_CACHE_MS.
   */
  isStale(connection: IntakeConnection, counted: Counted): boolean {
    return counted !== null && !RedisEpoch.current(counted.read, connection.epoch);
  }
}

/** What every answer about a connection says of it. */
function identity(row: ConnectionRow) {
  return { id: row.id, platform: row.platform, scheme: row.scheme, webhookUrl: webhookUrl(row.id) };
}

function toDto(row: ConnectionRow, nowMs: number): PlatformConnectionDto {
  return {
    ...identity(row),
    createdAt: row.created_at.toISOString(),
    previousSecretExpiresAt: previousSecretExpiresAt(row, nowMs),
  };
}

/** A connection with its secret in clear: the answer that shows it once. */
function toCreated(row: ConnectionRow, secret: string): CreatedPlatformConnectionDto {
  return { ...identity(row), signingSecret: secret };
}
