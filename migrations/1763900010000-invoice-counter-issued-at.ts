import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Invoice numbers increase with issue time: the counter row remembers the latest issue time it numbered, and a
 * later number is never issued at an earlier time (two workers' clocks, or two transactions that read the
 * clock in one order and took the counter's lock in the other).
 */
export class InvoiceCounterIssuedAt1763900010000 implements MigrationInterface {
  name = 'InvoiceCounterIssuedAt1763900010000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE invoice_counters ADD COLUMN last_issued_at timestamptz`);
    await q.query(`
      UPDATE invoice_counters c SET last_issued_at = i.latest
      FROM (SELECT freelancer_id, year, max(issued_at) AS latest FROM invoices GROUP BY freelancer_id, year) i
      WHERE i.freelancer_id = c.freelancer_id AND i.year = c.year`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE invoice_counters DROP COLUMN last_issued_at`);
  }
}
