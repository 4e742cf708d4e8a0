import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Problems } from '../../../common/problem';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import { defaultSettings, SandboxSettings } from './sandbox-behaviour';
import { isSandboxProvider, SANDBOX_PROVIDER_IDS } from './sandbox-providers';

export type SandboxSettingsChange = Partial<Omit<SandboxSettings, 'providerId' | 'updatedAt'>>;

interface SettingsRow {
  provider_id: string;
  latency_ms: number;
  settle_after_ms: number;
  transient_failure_rate: string;
  permanent_failure_rate: string;
  timeout_rate: string;
  return_rate: string;
  updated_at: Date;
}

/**
 * Ops' settings per sandbox provider. A provider without a row behaves by the defaults; every send reads
 * the row afresh, so a change applies "from now on" on every api and worker process at once.
 */
@Injectable()
export class SandboxSettingsService {
  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async get(providerId: string): Promise<SandboxSettings> {
    const rows: SettingsRow[] = await this.db.query(
      `SELECT * FROM sandbox_provider_settings WHERE provider_id = $1`,
      [providerId],
    );
    return rows.length ? toSettings(rows[0]) : this.defaults(providerId);
  }

  async list(): Promise<SandboxSettings[]> {
    const rows: SettingsRow[] = await this.db.query(`SELECT * FROM sandbox_provider_settings`);
    return SANDBOX_PROVIDER_IDS.map((id) => {
      const row = rows.find((r) => r.provider_id === id);
      return row ? toSettings(row) : this.defaults(id);
    });
  }

  /** Changes the given settings and keeps the others; one statement, so concurrent changes do not lose one another. */
  async update(providerId: string, change: SandboxSettingsChange): Promise<SandboxSettings> {
    this.requireKnown(providerId);
    const d = this.defaults(providerId);
    const [row]: SettingsRow[] = await this.db.query(
      `INSERT INTO sandbox_provider_settings AS s (provider_id, latency_ms, settle_after_ms, transient_failure_rate,
         permanent_failure_rate, timeout_rate, return_rate, updated_at)
       VALUES ($1, COALESCE($2::int, $8::int), COALESCE($3::int, $9::int), COALESCE($4::numeric, 0),
         COALESCE($5::numeric, 0), COALESCE($6::numeric, 0), COALESCE($7::numeric, 0), now())
       ON CONFLICT (provider_id) DO UPDATE SET
         latency_ms = COALESCE($2::int, s.latency_ms),
         settle_after_ms = COALESCE($3::int, s.settle_after_ms),
         transient_failure_rate = COALESCE($4::numeric, s.transient_failure_rate),
         permanent_failure_rate = COALESCE($5::numeric, s.permanent_failure_rate),
         timeout_rate = COALESCE($6::numeric, s.timeout_rate),
         return_rate = COALESCE($7::numeric, s.return_rate),
         updated_at = now()
       RETURNING *`,
      [
        providerId,
        change.latencyMs ?? null,
        change.settleAfterMs ?? null,
        rate(change.transientFailureRate),
        rate(change.permanentFailureRate),
        rate(change.timeoutRate),
        rate(change.returnRate),
        d.latencyMs,
        d.settleAfterMs,
      ],
    );
    return toSettings(row);
  }

  /** Back to the defaults (the happy path). */
  async reset(providerId: string): Promise<SandboxSettings> {
    this.requireKnown(providerId);
    await this.db.query(`DELETE FROM sandbox_provider_settings WHERE provider_id = $1`, [providerId]);
    return this.defaults(providerId);
  }

  private defaults(providerId: string): SandboxSettings {
    return defaultSettings(providerId, this.config.sandbox.settleAfterMs);
  }

  private requireKnown(providerId: string): void {
    if (!isSandboxProvider(providerId)) throw Problems.notFound(`Provider "${providerId}"`);
  }
}

/** Rates go to Postgres as exact decimal text: numeric keeps what ops typed. */
function rate(value: number | undefined): string | null {
  return value === undefined ? null : String(value);
}

function toSettings(row: SettingsRow): SandboxSettings {
  return {
    providerId: row.provider_id,
    latencyMs: row.latency_ms,
    settleAfterMs: row.settle_after_ms,
    transientFailureRate: Number(row.transient_failure_rate),
    permanentFailureRate: Number(row.permanent_failure_rate),
    timeoutRate: Number(row.timeout_rate),
    returnRate: Number(row.return_rate),
    updatedAt: row.updated_at,
  };
}
