import { randomUUID } from 'node:crypto';
import { ownDatabaseForSuite } from '../../test/support/own-database';
import { LedgerService } from './ledger.service';

/** A trial balance shows an imbalance when the books hold one (the balance triggers switched off to make one). */
describe('trial balance on books that do not balance', () => {
  const own = ownDatabaseForSuite('trialbal');

  it('reports debits 100.00 against credits 99.99', async () => {
    const { db } = own;
    // Corrupt the books on purpose (own database only): the balance trigger is what a trial balance audits.
    await db.query(`ALTER TABLE ledger_lines DISABLE TRIGGER ledger_lines_balanced`);
    await db.query(`ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_balanced`);
    await db.transaction(async (tx) => {
      const [{ id }] = await tx.query(
        `INSERT INTO ledger_entries (idempotency_key, kind, description) VALUES ($1, 'manual', 'raw') RETURNING id`,
        [randomUUID()],
      );
      let n = 0;
      for (const [account, side, amount] of [
        ['platform_receivable:x', 'debit', '100.00'],
        ['provider_in_transit:x', 'credit', '99.99'],
      ]) {
        await tx.query(
          `INSERT INTO ledger_accounts (name, normal_side) VALUES ($1, 'debit') ON CONFLICT DO NOTHING`,
          [account],
        );
        await tx.query(
          `INSERT INTO ledger_lines (entry_id, line_no, account, currency, side, amount) VALUES ($1, $2, $3, 'USD', $4, $5)`,
          [id, ++n, account, side, amount],
        );
      }
    });
    const [usd] = await new LedgerService(db).trialBalance();
    expect({ debits: usd.debits.toFixed(2), credits: usd.credits.toFixed(2) }).toEqual({
      debits: '100.00',
      credits: '99.99',
    });
  });
});
