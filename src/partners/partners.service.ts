import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PageQuery, pageClause, toPage } from '../common/pagination';
import { Problems } from '../common/problem';
import { ApiKeyDto, PartnerDto, PartnerPageDto } from './dto/partner.dto';
import { apiKeyHint, generateApiKey, hashApiKey } from './api-key';
import { ApiKeyCache } from './api-key-cache';

interface PartnerRow {
  id: string;
  name: string;
  created_at: Date;
}

interface ApiKeyRow {
  id: string;
  partner_id: string;
  key_hint: string;
  created_at: Date;
  revoked_at: Date | null;
}

export interface AuthenticatedPartner {
  partnerId: string;
  apiKeyId: string;
}

@Injectable()
export class PartnersService {
  constructor(
    private readonly db: DataSource,
    private readonly cache: ApiKeyCache,
  ) {}

  async createPartner(name: string): Promise<{ id: string; name: string; apiKey: string; apiKeyId: string }> {
    return this.db.transaction(async (tx) => {
      const [partner] = await tx.query(`INSERT INTO partners (name) VALUES ($1) RETURNING id, name`, [name]);
      const key = generateApiKey();
      const [row] = await tx.query(
        `INSERT INTO api_keys (partner_id, key_hash, key_hint) VALUES ($1, $2, $3) RETURNING id`,
        [partner.id, hashApiKey(key), apiKeyHint(key)],
      );
      return { id: partner.id, name: partner.name, apiKey: key, apiKeyId: row.id };
    });
  }

  async createApiKey(partnerId: string): Promise<{ apiKeyId: string; apiKey: string }> {
    await this.requirePartner(partnerId);
    const key = generateApiKey();
    const [row] = await this.db.query(
      `INSERT INTO api_keys (partner_id, key_hash, key_hint) VALUES ($1, $2, $3) RETURNING id`,
      [partnerId, hashApiKey(key), apiKeyHint(key)],
    );
    return { apiKeyId: row.id, apiKey: key };
  }

  async revokeApiKey(partnerId: string, apiKeyId: string): Promise<void> {
    const result = await this.db.query(
      `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND partner_id = $2 RETURNING id`,
      [apiKeyId, partnerId],
    );
    if (result[0].length === 0) throw Problems.notFound('API key');
    await this.cache.invalidate();
  }

  /** Partners for ops, newest first, each with every key it was given (never the keys themselves). */
  async list(query: PageQuery): Promise<PartnerPageDto> {
    const params: unknown[] = [];
    const rows: PartnerRow[] = await this.db.query(
      `SELECT id, name, created_at FROM partners WHERE true${pageClause(query, params)}`,
      params,
    );
    const keys = await this.keysOf(rows.map((r) => r.id));
    return toPage(rows, query, (row) => toPartnerDto(row, keys));
  }

  async get(partnerId: string): Promise<PartnerDto> {
    const rows: PartnerRow[] = await this.db.query(
      `SELECT id, name, created_at FROM partners WHERE id = $1`,
      [partnerId],
    );
    if (!rows.length) throw Problems.notFound('Partner');
    return toPartnerDto(rows[0], await this.keysOf([partnerId]));
  }

  private async keysOf(partnerIds: string[]): Promise<ApiKeyRow[]> {
    if (!partnerIds.length) return [];
    return this.db.query(
      `SELECT id, partner_id, key_hint, created_at, revoked_at FROM api_keys
       WHERE partner_id = ANY($1::uuid[]) ORDER BY created_at, id`,
      [partnerIds],
    );
  }

  /** Resolves a presented key to its partner; revoked or unknown keys answer null. */
  async authenticate(key: string): Promise<AuthenticatedPartner | null> {
    const rows = await this.db.query(
      `SELECT id, partner_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hashApiKey(key)],
    );
    return rows.length ? { partnerId: rows[0].partner_id, apiKeyId: rows[0].id } : null;
  }

  private async requirePartner(partnerId: string): Promise<void> {
    const rows = await this.db.query(`SELECT 1 FROM partners WHERE id = $1`, [partnerId]);
    if (!rows.length) throw Problems.notFound('Partner');
  }
}

function toApiKeyDto(row: ApiKeyRow): ApiKeyDto {
  return {
    apiKeyId: row.id,
    hint: row.key_hint,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

function toPartnerDto(row: PartnerRow, keys: ApiKeyRow[]): PartnerDto {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    apiKeys: keys.filter((k) => k.partner_id === row.id).map(toApiKeyDto),
  };
}
