import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each freelancer realized in each Pakistani month, kept as a running total: the bank keeps the month's ESFCA
 * allowance (the higher of USD 5,000 or half), so each realization's share depends on what came before it in its
 * month. One row per freelancer and month, added to by every realization (its row lock makes the realizations of
 * one freelancer and month take turns) and taken from by a return.
 */
export class InvoicesRealizedPerFreelancer1763900019000 implements MigrationInterface {
  name = 'InvoicesRealizedPerFreelancer1763900019000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE invoice_realized_months (
        freelancer_id uuid NOT NULL REFERENCES freelancers(id),
        month date NOT NULL CHECK (extract(day FROM month) = 1),
        realized numeric(20,2) NOT NULL CHECK (realized >= 0),
        PRIMARY KEY (freelancer_id, month)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE invoice_realized_months`);
  }
}
