import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { canonicalJson } from '../common/canonical-json';
import { PageQuery, pageClause, toPage } from '../common/pagination';
import { Problems } from '../common/problem';
import { IdempotencyService, keyUsedElsewhere } from '../partners/idempotency.service';
import { openSecret, sealSecret } from '../common/secret-box';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  CreatedPlatformConnectionDto,
  CreatePlatformConnectionDto,
  PlatformConnectionDto,
  PlatformConnectionPageDto,
} from './dto/platform-connection.dto';
import { defaultScheme, generateSigningSecret, Platform, webhookUrl } from './platforms';
import { SignatureScheme } from './signatures/signature-schemes';

interface ConnectionRow {
  id: string;
  partner_id: string;
  platform: Platform;
  scheme: SignatureScheme;
  secret_ciphertext: Buffer;
  request_hash: string | null;
  created_at: Date;
}

/** What webhook intake needs of a connection, with its secret opened. */
export interface IntakeConnection {
  id: string;
  partnerId: string;
  platform: Platform;
  scheme: SignatureScheme;
  secret: string;
}

/**
 * Opened connections are kept this long, so intake does not read and decrypt the same row on every delivery.
 * Connections never change once created (a secret rotation would be a new row or must clear this cache);
 * the row in Postgres stays the truth.
 */
const INTAKE_CACHE_MS = 30_000;
const INTAKE_CACHE_MAX = 10_000;

@Injectable()
export class PlatformConnectionsService {
  private readonly intakeCache = new Map<string, { connection: IntakeConnection; until: number }>();

  constructor(
    private readonly db: DataSource,
    private readonly idempotency: IdempotencyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

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
      if (inserted.length) return { connection: this.toCreated(inserted[0], secret), replayed: false };

      const [first]: ConnectionRow[] = await tx.query(
        `SELECT * FROM platform_connections WHERE partner_id = $1 AND idempotency_key = $2`,
        [partnerId, idempotencyKey],
      );
      if (first.request_hash !== requestHash) throw keyUsedElsewhere();
      return { connection: this.toCreated(first, this.open(first)), replayed: true };
    });
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

  /** The connection a webhook is addressed to, whoever owns it, or null. */
  async findForIntake(id: string): Promise<IntakeConnection | null> {
    const cached = this.intakeCache.get(id);
    if (cached && cached.until > Date.now()) return cached.connection;
    const rows: ConnectionRow[] = await this.db.query(
      `SELECT id, partner_id, platform, scheme, secret_ciphertext FROM platform_connections WHERE id = $1`,
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
    };
    if (this.intakeCache.size >= INTAKE_CACHE_MAX) this.intakeCache.clear();
    this.intakeCache.set(id, { connection, until: Date.now() + INTAKE_CACHE_MS });
    return connection;
  }

  private open(row: ConnectionRow): string {
    return openSecret(this.config.secretsKey, row.secret_ciphertext, row.id);
  }

  private toCreated(row: ConnectionRow, secret: string): CreatedPlatformConnectionDto {
    return {
      id: row.id,
      platform: row.platform,
      scheme: row.scheme,
      webhookUrl: webhookUrl(row.id),
      signingSecret: secret,
    };
  }
}

function toDto(row: ConnectionRow): PlatformConnectionDto {
  return {
    id: row.id,
    platform: row.platform,
    scheme: row.scheme,
    webhookUrl: webhookUrl(row.id),
    createdAt: row.created_at.toISOString(),
  };
}
