import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { canonicalJson } from '../common/canonical-json';
import { PageQuery, pageClause, toPage } from '../common/pagination';
import { Problems } from '../common/problem';
import { IdempotencyService, keyUsedElsewhere } from '../partners/idempotency.service';
import { openSecret, sealSecret } from '../common/secret-box';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { Counted } from '../common/rate-limiter';
import {
  DEFAULT_PREVIOUS_SECRET_SECONDS,
  openPrevious,
  rotateSecret,
  SecretStore,
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
  previous_secret_ciphertext: Buffer | null;
  previous_secret_expires_at: Date | null;
  request_hash: string | null;
  created_at: Date;
}

/** A connection's secret is sealed for its id (as since the first connection). */
const CONNECTION_SECRETS: SecretStore = {
  table: 'platform_connections',
  live: 'true',
  rotations: 'platform_connection_rotations',
  ownerColumn: 'connection_id',
  sealedFor: (id) => id,
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
  /** The secret the last rotation replaced, with the time (ms since the epoch) it stops verifying. */
  previous: { secret: string; expiresAtMs: number } | null;
  /** The rotation epoch this copy was read under; null when Redis could not say (the copy is then not kept). */
  epoch: string | null;
}

/**
 * Opened connections are kept this long, so intake does not read and decrypt the same row on every delivery.
 * A rotation bumps an epoch in Redis that intake reads with its rate-limit count, so every replica reads the
 * row again at its next delivery; the time bounds a rotation whose bump Redis did not take.
 */
const INTAKE_CACHE_MS = 30_000;
const INTAKE_CACHE_MAX = 10_000;

@Injectable()
export class PlatformConnectionsService {
  private readonly intakeCache = new Map<string, { connection: IntakeConnection; until: number }>();
  private readonly rotations: RedisEpoch;

  /** The Redis key (under the client's prefix) whose value changes whenever a signing secret is rotated. */
  static readonly ROTATION_EPOCH_KEY = 'webhooks:secret-rotation-epoch';

  constructor(
    private readonly db: DataSource,
    private readonly idempotency: IdempotencyService,
    private readonly clock: Clock,
    redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.rotations = new RedisEpoch(
      redis,
      PlatformConnectionsService.ROTATION_EPOCH_KEY,
      'connection caches',
    );
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
        `INSERT INTO platform_connections (id, partner_id, platform, scheme, secret_ciphertext, idempotency_key, request_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (partner_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING *`,
        [
          id,
          partnerId,
          dto.platform,
          scheme,
          sealSecret(this.config.secretsKey, secret, id),
          idempotencyKey ?? null,
          requestHash,
        ],
      );
      if (inserted.length) return { connection: toCreated(inserted[0], secret), replayed: false };

      const [first]: ConnectionRow[] = await tx.query(
        `SELECT * FROM platform_connections WHERE partner_id = $1 AND idempotency_key = $2`,
        [partnerId, idempotencyKey],
      );
      if (first.request_hash !== requestHash) throw keyUsedElsewhere();
      return { connection: toCreated(first, this.open(first)), replayed: true };
    });
  }

  /**
   * Gives the connection a fresh signing secret, shown once. The secret it replaces goes on verifying for
   * `previousSecretValidForSeconds` (a day unless told), so deliveries signed while the platform moves over are
   * not refused; a later rotation replaces it in turn. With an Idempotency-Key, a repeat of the request answers
   * the same new secret again instead of rotating once more (which would drop the secret the platform still uses).
   */
  async rotateSecret(
    partnerId: string,
    id: string,
    dto: RotateSecretDto,
    idempotencyKey?: string,
  ): Promise<{ rotated: RotatedSigningSecretDto; replayed: boolean }> {
    const rotation = await this.db.transaction((tx) =>
      rotateSecret<ConnectionRow>(tx, this.idempotency, this.config.secretsKey, CONNECTION_SECRETS, {
        partnerId,
        id,
        validForSeconds: dto.previousSecretValidForSeconds ?? DEFAULT_PREVIOUS_SECRET_SECONDS,
        idempotencyKey,
        now: this.clock.now(),
      }),
    );
    if (!rotation.replayed) {
      this.intakeCache.delete(id);
      await this.rotations.bump();
    }
    return {
      rotated: {
        ...toCreated(rotation.row, rotation.secret),
        previousSecretExpiresAt: rotation.previousExpiresAt.toISOString(),
      },
      replayed: rotation.replayed,
    };
  }

  async get(partnerId: string, id: string): Promise<PlatformConnectionDto> {
    const rows: ConnectionRow[] = await this.db.query(
      `SELECT * FROM platform_connections WHERE id = $1 AND partner_id = $2`,
      [id, partnerId],
    );
    if (!rows.length) throw Problems.notFound('Platform connection');
    return toDto(rows[0]);
  }

  async list(partnerId: string, query: PageQuery): Promise<PlatformConnectionPageDto> {
    const params: unknown[] = [partnerId];
    const rows: ConnectionRow[] = await this.db.query(
      `SELECT * FROM platform_connections WHERE partner_id = $1${pageClause(query, params)}`,
      params,
    );
    return toPage(rows, query, toDto);
  }

  /**
   * The connection a webhook is addressed to, whoever owns it, or null: the copy in memory unless `fresh`, or
   * the row read again.
   */
  async findForIntake(id: string, fresh = false): Promise<IntakeConnection | null> {
    const cached = fresh ? undefined : this.intakeCache.get(id);
    if (cached && cached.until > Date.now()) return cached.connection;
    // Read before the row: a rotation in between leaves this copy marked stale, never a stale copy unmarked.
    const epoch = await this.rotations.read();
    const rows: ConnectionRow[] = await this.db.query(
      `SELECT id, partner_id, platform, scheme, secret_ciphertext, previous_secret_ciphertext, previous_secret_expires_at
       FROM platform_connections WHERE id = $1`,
      [id],
    );
    if (!rows.length) return null;
    const row = rows[0];
    const connection: IntakeConnection = {
      id: row.id,
      partnerId: row.partner_id,
      platform: row.platform,
      scheme: row.scheme,
      secret: this.open(row),
      previous: openPrevious(this.config.secretsKey, row, CONNECTION_SECRETS),
      epoch,
    };
    if (epoch === null) {
      this.intakeCache.delete(id);
      return connection;
    }
    if (this.intakeCache.size >= INTAKE_CACHE_MAX) this.intakeCache.clear();
    this.intakeCache.set(id, { connection, until: Date.now() + INTAKE_CACHE_MS });
    return connection;
  }

  /**
   * Whether a secret was rotated since the copy was read, on this replica or another: `counted` carries the
   * epoch read with intake's rate-limit count (ROTATION_EPOCH_KEY). Without Redis nothing can be told.
   */
  isStale(connection: IntakeConnection, counted: Counted): boolean {
    return counted !== null && connection.epoch !== null && RedisEpoch.of(counted.read) !== connection.epoch;
  }

  private open(row: ConnectionRow): string {
    return openSecret(this.config.secretsKey, row.secret_ciphertext, CONNECTION_SECRETS.sealedFor(row.id));
  }
}

function toDto(row: ConnectionRow): PlatformConnectionDto {
  return {
    id: row.id,
    platform: row.platform,
    scheme: row.scheme,
    webhookUrl: webhookUrl(row.id),
    createdAt: row.created_at.toISOString(),
    previousSecretExpiresAt: row.previous_secret_expires_at?.toISOString() ?? null,
  };
}

/** A connection with its secret in clear: the answer that shows it once. */
function toCreated(row: ConnectionRow, secret: string): CreatedPlatformConnectionDto {
  return {
    id: row.id,
    platform: row.platform,
    scheme: row.scheme,
    webhookUrl: webhookUrl(row.id),
    signingSecret: secret,
  };
}
