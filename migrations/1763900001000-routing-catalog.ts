import { MigrationInterface, QueryRunner } from 'typeorm';
import catalog from '../src/routing/route-catalog.json';

/**
 * The route catalog: providers (with the ops on/off switch), routes, and their fee schedules as immutable
 * versions, so a payout's stored quote can always be traced to the exact figures it was computed from.
 * Seeded with exactly `src/routing/route-catalog.json` as fee version 1.
 */
export class RoutingCatalog1763900001000 implements MigrationInterface {
  name = 'RoutingCatalog1763900001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE providers (
        id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]*$'),
        name text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE routes (
        id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]*$'),
        provider_id text NOT NULL REFERENCES providers(id),
        rail text NOT NULL,
        platforms text[] NOT NULL CHECK (cardinality(platforms) > 0),
        account_kinds text[] NOT NULL
          CHECK (cardinality(account_kinds) > 0 AND account_kinds <@ ARRAY['bank_fcy', 'fintech_usd']),
        delivers_currency char(3) NOT NULL CHECK (delivers_currency ~ '^[A-Z]{3}$'),
        active boolean NOT NULL,
        confidence text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Percent fees have two decimals and spreads whole basis points, so every fee component of a quote is
    // exact within six fraction digits. Together they stay under 100 % of gross: a larger gross then never
    // lands fewer dollars.
    await q.query(`
      CREATE TABLE route_fee_versions (
        route_id text NOT NULL REFERENCES routes(id),
        version int NOT NULL CHECK (version >= 1),
        fixed_fee numeric(20,2) NOT NULL CHECK (fixed_fee >= 0),
        percent_fee numeric(5,2) NOT NULL CHECK (percent_fee >= 0),
        percent_min numeric(20,2) CHECK (percent_min >= 0),
        percent_max numeric(20,2) CHECK (percent_max >= 0),
        fx_spread_bps int NOT NULL CHECK (fx_spread_bps >= 0),
        intermediary_fee numeric(20,2) NOT NULL CHECK (intermediary_fee >= 0),
        min_amount numeric(20,2) NOT NULL CHECK (min_amount > 0),
        max_amount numeric(20,2) NOT NULL CHECK (max_amount <= 1000000),
        eta_hours int NOT NULL CHECK (eta_hours > 0),
        valid_from timestamptz NOT NULL DEFAULT clock_timestamp(),
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        PRIMARY KEY (route_id, version),
        CONSTRAINT route_fee_versions_amount_range CHECK (min_amount <= max_amount),
        CONSTRAINT route_fee_versions_percent_range
          CHECK (percent_min IS NULL OR percent_max IS NULL OR percent_min <= percent_max),
        CONSTRAINT route_fee_versions_rate_below_gross CHECK (percent_fee + fx_spread_bps / 100.0 < 100)
      )`);
    await q.query(`
      CREATE FUNCTION route_fee_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'route fee versions are never changed or removed; add a new version instead';
      END $$`);
    await q.query(`
      CREATE TRIGGER route_fee_versions_immutable BEFORE UPDATE OR DELETE ON route_fee_versions
      FOR EACH ROW EXECUTE FUNCTION route_fee_versions_immutable()`);
    // One counter bumped in the same transaction as any catalog change: replicas compare it to decide
    // whether their cached catalog is still current.
    await q.query(`
      CREATE TABLE routing_catalog_state (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        version bigint NOT NULL
      )`);
    await q.query(`INSERT INTO routing_catalog_state (version) VALUES (1)`);

    for (const provider of catalog.providers) {
      await q.query(`INSERT INTO providers (id, name) VALUES ($1, $2)`, [provider.id, provider.name]);
    }
    for (const route of catalog.routes) {
      await q.query(
        `INSERT INTO routes (id, provider_id, rail, platforms, account_kinds, delivers_currency, active, confidence)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          route.id,
          route.provider,
          route.rail,
          route.platforms,
          route.accountKinds,
          route.deliversCurrency,
          route.active,
          route.confidence,
        ],
      );
      await q.query(
        `INSERT INTO route_fee_versions (route_id, version, fixed_fee, percent_fee, percent_min, percent_max,
           fx_spread_bps, intermediary_fee, min_amount, max_amount, eta_hours)
         VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          route.id,
          route.fixedFee,
          route.percentFee,
          route.percentMin,
          route.percentMax,
          route.fxSpreadBps,
          route.intermediaryFee,
          route.minAmount,
          route.maxAmount,
          route.etaHours,
        ],
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE routing_catalog_state`);
    await q.query(`DROP TABLE route_fee_versions`);
    await q.query(`DROP FUNCTION route_fee_versions_immutable()`);
    await q.query(`DROP TABLE routes`);
    await q.query(`DROP TABLE providers`);
  }
}
