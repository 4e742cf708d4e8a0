import { MigrationInterface, QueryRunner } from 'typeorm';

export class PlatformConnectionsAndEvents1763900000400 implements MigrationInterface {
  name = 'PlatformConnectionsAndEvents1763900000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE platform_connections (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_id uuid NOT NULL REFERENCES partners(id),
        platform text NOT NULL,
        scheme text NOT NULL CHECK (scheme IN ('standard-webhooks', 'stripe')),
        secret_ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
      )`);
    await q.query(`CREATE INDEX platform_connections_partner_idx ON platform_connections (partner_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE platform_connections`);
  }
}
