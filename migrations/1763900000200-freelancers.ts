import { MigrationInterface, QueryRunner } from 'typeorm';

export class Freelancers1763900000200 implements MigrationInterface {
  name = 'Freelancers1763900000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE freelancers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_id uuid NOT NULL REFERENCES partners(id),
        external_ref text NOT NULL,
        name text NOT NULL,
        cnic text NOT NULL CHECK (cnic ~ '^[0-9]{5}-[0-9]{7}-[0-9]$'),
        ntn text,
        pseb_registration_no text,
        email text,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT freelancers_partner_ref_key UNIQUE (partner_id, external_ref)
      )`);
    await q.query(`CREATE INDEX freelancers_partner_page_idx ON freelancers (partner_id, created_at, id)`);
    await q.query(`
      CREATE TABLE dollar_accounts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        freelancer_id uuid NOT NULL REFERENCES freelancers(id),
        kind text NOT NULL CHECK (kind IN ('bank_fcy', 'fintech_usd')),
        institution text NOT NULL,
        iban text NOT NULL CHECK (iban ~ '^PK[0-9]{2}[A-Z0-9]{20}$'),
        title text NOT NULL,
        currency char(3) NOT NULL DEFAULT 'USD' CHECK (currency = 'USD'),
        is_default boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
      )`);
    await q.query(`CREATE INDEX dollar_accounts_freelancer_idx ON dollar_accounts (freelancer_id)`);
    await q.query(
      `CREATE UNIQUE INDEX dollar_accounts_one_default ON dollar_accounts (freelancer_id) WHERE is_default`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE dollar_accounts`);
    await q.query(`DROP TABLE freelancers`);
  }
}
