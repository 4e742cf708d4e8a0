import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ESFCA running totals (invoice_realized_months) began empty when their table was made, so a month that had
 * realizations before that deploy was counted short, and later shares of that month came out too large. A total is
 * what the month's invoices say: the nets realized in that Pakistani month (UTC+5) and not returned since (an
 * invoice whose proceeds a provider took back is `proceeds_failed` with its realization on record). Every row is
 * set to that, under a lock that makes realizations wait the moment it takes. Can run again: it only ever writes
 * what the invoices say.
 */
export class RealizedMonthsRecomputed1763900026000 implements MigrationInterface {
  name = 'RealizedMonthsRecomputed1763900026000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SET LOCAL lock_timeout = '5s'`);
    await q.query(`LOCK TABLE invoice_realized_months IN EXCLUSIVE MODE`);
    await q.query(`
      WITH months AS (
        SELECT freelancer_id, date_trunc('month', (realized_at AT TIME ZONE 'UTC') + interval '5 hours')::date AS month,
               sum(net_realized) FILTER (WHERE export_status <> 'proceeds_failed') AS realized
        FROM invoices WHERE realized_at IS NOT NULL
        GROUP BY 1, 2)
      INSERT INTO invoice_realized_months (freelancer_id, month, realized)
      SELECT freelancer_id, month, coalesce(realized, 0) FROM months
      ON CONFLICT (freelancer_id, month) DO UPDATE SET realized = EXCLUDED.realized`);
  }

  async down(): Promise<void> {
    // The totals stay as the invoices say: there is nothing to undo.
  }
}
