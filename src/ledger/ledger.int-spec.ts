import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { MoneyDecimal } from '../money/money';
import { Accounts, LedgerError } from './chart';
import { LedgerService } from './ledger.service';
import { PostingLine } from './posting';

const d = (text: string) => new MoneyDecimal(text);

describe(LedgerService.name, () => {
  let db: DataSource;
  let sut: LedgerService;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions(loadConfig().databaseUrl));
    await db.initialize();
    sut = new LedgerService(db);
  });

  afterAll(async () => {
    await db.destroy();
  });

  /** A platform name no other test uses, so its account's balance is this test's alone. */
  const platform = () => `p-${randomUUID().slice(0, 8)}`;

  function routed(freelancerId: string, where: string, amount: string): PostingLine[] {
    return [
      { account: Accounts.platformReceivable(where), side: 'debit', amount: d(amount) },
      { account: Accounts.freelancerInTransit(freelancerId), side: 'credit', amount: d(amount) },
    ];
  }

  async function balanceOf(account: string): Promise<string> {
    const [row] = await db.query(
      `SELECT coalesce(sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END), 0)::numeric(20,2)::text AS b
         FROM ledger_lines WHERE account = $1`,
      [account],
    );
    return row.b;
  }

  describe('the database refuses what would break the books', () => {
    async function rawEntry(lines: [string, 'debit' | 'credit', string][]): Promise<string> {
      return db.transaction(async (tx) => {
        const [{ id }] = await tx.query(
          `INSERT INTO ledger_entries (idempotency_key, kind, description) VALUES ($1, 'manual', 'raw') RETURNING id`,
          [randomUUID()],
        );
        let lineNo = 0;
        for (const [account, side, amount] of lines) {
          lineNo += 1;
          await tx.query(
            `INSERT INTO ledger_accounts (name, normal_side) VALUES ($1, 'debit') ON CONFLICT DO NOTHING`,
            [account],
          );
          await tx.query(
            `INSERT INTO ledger_lines (entry_id, line_no, account, currency, side, amount)
             VALUES ($1, $2, $3, 'USD', $4, $5)`,
            [id, lineNo, account, side, amount],
          );
        }
        return id;
      });
    }

    it('refuses an unbalanced entry at commit, and keeps nothing of it', async () => {
      const where = platform();
      await expect(
        rawEntry([
          [`platform_receivable:${where}`, 'debit', '100.00'],
          [`provider_in_transit:${where}`, 'credit', '99.99'],
        ]),
      ).rejects.toThrow(/unbalanced: USD debits 100.00, credits 99.99/);
      expect(await balanceOf(`platform_receivable:${where}`)).toBe('0.00');
    });

    it('refuses an entry whose credits exceed its debits, as one whose debits exceed its credits', async () => {
      const where = platform();
      await expect(
        rawEntry([
          [`platform_receivable:${where}`, 'debit', '99.99'],
          [`provider_in_transit:${where}`, 'credit', '100.00'],
        ]),
      ).rejects.toThrow(/unbalanced: USD debits 99.99, credits 100.00/);
      expect(await balanceOf(`provider_in_transit:${where}`)).toBe('0.00');
    });

    it('balances each currency on its own: a USD debit is not balanced by a credit in another currency', async () => {
      const where = platform();
      await expect(
        db.transaction(async (tx) => {
          const [{ id }] = await tx.query(
            `INSERT INTO ledger_entries (idempotency_key, kind, description) VALUES ($1, 'manual', 'two currencies')
             RETURNING id`,
            [randomUUID()],
          );
          for (const account of [`platform_receivable:${where}`, `provider_in_transit:${where}`]) {
            await tx.query(
              `INSERT INTO ledger_accounts (name, normal_side) VALUES ($1, 'debit') ON CONFLICT DO NOTHING`,
              [account],
            );
          }
          await tx.query(
            `INSERT INTO ledger_lines (entry_id, line_no, account, currency, side, amount)
             VALUES ($1, 1, $2, 'USD', 'debit', 10), ($1, 2, $3, 'PKR', 'credit', 10)`,
            [id, `platform_receivable:${where}`, `provider_in_transit:${where}`],
          );
        }),
      ).rejects.toThrow(/is unbalanced/);
      expect(await balanceOf(`platform_receivable:${where}`)).toBe('0.00');
    });

    it('refuses an entry of one line, and one without lines', async () => {
      await expect(rawEntry([[`platform_receivable:${platform()}`, 'debit', '5.00']])).rejects.toThrow(
        /has 1 line\(s\); an entry needs at least two/,
      );
      await expect(rawEntry([])).rejects.toThrow(/has 0 line\(s\)/);
    });

    it('refuses lines added to a booked entry later, even balanced ones, and keeps the entry as booked', async () => {
      const where = platform();
      // Booked line by line in one transaction, as rawEntry does: an entry is open until its transaction ends.
      const id = await rawEntry([
        [`platform_receivable:${where}`, 'debit', '10.00'],
        [`provider_in_transit:${where}`, 'credit', '10.00'],
      ]);
      const closed = new RegExp(`ledger entry ${id} is closed`);
      await expect(
        db.query(
          `INSERT INTO ledger_lines (entry_id, line_no, account, currency, side, amount)
           VALUES ($1, 3, $2, 'USD', 'debit', '1.00')`,
          [id, `platform_receivable:${where}`],
        ),
      ).rejects.toThrow(closed);
      await expect(
        db.query(
          `INSERT INTO ledger_lines (entry_id, line_no, account, currency, side, amount)
           VALUES ($1, 3, $2, 'USD', 'debit', '1000.00'), ($1, 4, $3, 'USD', 'credit', '1000.00')`,
          [id, `platform_receivable:${where}`, `provider_in_transit:${where}`],
        ),
      ).rejects.toThrow(closed);
      // Nor inside a savepoint of a later transaction.
      await expect(
        db.transaction((tx) =>
          tx.transaction((inner) =>
            inner.query(
              `INSERT INTO ledger_lines (entry_id, line_no, account, currency, side, amount)
               VALUES ($1, 3, $2, 'USD', 'debit', '5.00'), ($1, 4, $3, 'USD', 'credit', '5.00')`,
              [id, `platform_receivable:${where}`, `provider_in_transit:${where}`],
            ),
          ),
        ),
      ).rejects.toThrow(closed);
      expect(await balanceOf(`platform_receivable:${where}`)).toBe('10.00');
      const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM ledger_lines WHERE entry_id = $1`, [id]);
      expect(n).toBe(2);
    });

    it('books an entry and its lines inside a savepoint of the transaction', async () => {
      const where = platform();
      const { entryId } = await db.transaction((tx) =>
        tx.transaction((inner) =>
          sut.post(inner, {
            idempotencyKey: randomUUID(),
            kind: 'manual',
            description: 'nested',
            lines: routed(randomUUID(), where, '3.00'),
          }),
        ),
      );
      const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM ledger_lines WHERE entry_id = $1`, [
        entryId,
      ]);
      expect(n).toBe(2);
    });

    it('refuses a second entry with the posting order of another', async () => {
      const { entryId } = await sut.post(null, {
        idempotencyKey: randomUUID(),
        kind: 'routed',
        description: 'first in order',
        lines: routed(randomUUID(), platform(), '4.00'),
      });
      await expect(
        db.query(
          `INSERT INTO ledger_entries (seq, idempotency_key, kind, description)
           OVERRIDING SYSTEM VALUE SELECT seq, $2, 'manual', 'same seq' FROM ledger_entries WHERE id = $1`,
          [entryId, randomUUID()],
        ),
      ).rejects.toThrow(/ledger_entries_seq_key/);
    });

    it('refuses UPDATE, DELETE and TRUNCATE of entries, lines and accounts', async () => {
      const where = platform();
      const id = await rawEntry([
        [`platform_receivable:${where}`, 'debit', '10.00'],
        [`provider_in_transit:${where}`, 'credit', '10.00'],
      ]);
      const refused = /the ledger is append-only/;
      await expect(db.query(`UPDATE ledger_lines SET amount = 11 WHERE entry_id = $1`, [id])).rejects.toThrow(
        refused,
      );
      await expect(db.query(`DELETE FROM ledger_lines WHERE entry_id = $1`, [id])).rejects.toThrow(refused);
      await expect(
        db.query(`UPDATE ledger_entries SET description = 'x' WHERE id = $1`, [id]),
      ).rejects.toThrow(refused);
      await expect(db.query(`DELETE FROM ledger_entries WHERE id = $1`, [id])).rejects.toThrow(refused);
      await expect(
        db.query(`DELETE FROM ledger_accounts WHERE name = $1`, [`provider_in_transit:${where}`]),
      ).rejects.toThrow(refused);
      // Inside a transaction rolled back either way: were the guard to let it through, the test fails and the
      // ledger the other suites share keeps its lines.
      const runner = db.createQueryRunner();
      await runner.startTransaction();
      try {
        await expect(runner.query(`TRUNCATE ledger_lines`)).rejects.toThrow(refused);
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
      expect(await balanceOf(`platform_receivable:${where}`)).toBe('10.00');
    });

    it('refuses amounts of zero or less and lines on accounts that do not exist', async () => {
      const where = platform();
      await expect(
        rawEntry([
          [`platform_receivable:${where}`, 'debit', '0.00'],
          [`provider_in_transit:${where}`, 'credit', '0.00'],
        ]),
      ).rejects.toThrow(/ledger_lines_amount_check/);
      await expect(
        db.transaction(async (tx) => {
          const [{ id }] = await tx.query(
            `INSERT INTO ledger_entries (idempotency_key, kind, description) VALUES ($1, 'manual', '') RETURNING id`,
            [randomUUID()],
          );
          await tx.query(
            `INSERT INTO ledger_lines (entry_id, line_no, account, currency, side, amount)
             VALUES ($1, 1, 'nowhere:x', 'USD', 'debit', 1), ($1, 2, 'nowhere:y', 'USD', 'credit', 1)`,
            [id],
          );
        }),
      ).rejects.toThrow(/foreign key/);
    });

    it('refuses a second entry with the same idempotency key, and a second reversal of an entry', async () => {
      const freelancer = randomUUID();
      const { entryId } = await sut.post(null, {
        idempotencyKey: randomUUID(),
        kind: 'routed',
        description: 'to reverse',
        lines: routed(freelancer, platform(), '7.00'),
      });
      await sut.reverse(null, { entryId, idempotencyKey: randomUUID(), kind: 'failed', description: 'once' });
      await expect(
        sut.reverse(null, { entryId, idempotencyKey: randomUUID(), kind: 'failed', description: 'twice' }),
      ).rejects.toThrow(/ledger_entries_reversed_once/);
      const [{ key }] = await db.query(`SELECT idempotency_key AS key FROM ledger_entries WHERE id = $1`, [
        entryId,
      ]);
      await expect(
        db.query(
          `INSERT INTO ledger_entries (idempotency_key, kind, description) VALUES ($1, 'manual', '')`,
          [key],
        ),
      ).rejects.toThrow(/ledger_entries_idempotency_key_key/);
      expect((await sut.freelancerBalance(freelancer)).inTransit.toFixed(2)).toBe('0.00');
    });
  });

  describe('post', () => {
    it('books an entry with its lines and answers its id', async () => {
      const freelancer = randomUUID();
      const payoutId = randomUUID();
      const where = platform();
      const result = await sut.post(null, {
        idempotencyKey: `test:${randomUUID()}`,
        kind: 'routed',
        payoutId,
        description: 'Routed 12.34 USD',
        lines: routed(freelancer, where, '12.34'),
      });
      expect(result).toEqual({ entryId: expect.any(String), created: true });
      const [entry] = await sut.entriesForPayout(payoutId);
      expect(entry).toEqual({
        id: result.entryId,
        kind: 'routed',
        payoutId,
        reversesEntryId: null,
        description: 'Routed 12.34 USD',
        createdAt: expect.any(String),
        lines: [
          { account: `platform_receivable:${where}`, side: 'debit', amount: '12.34', currency: 'USD' },
          {
            account: `freelancer_in_transit:${freelancer}`,
            side: 'credit',
            amount: '12.34',
            currency: 'USD',
          },
        ],
      });
      expect((await sut.freelancerBalance(freelancer)).inTransit.toFixed(2)).toBe('12.34');
    });

    it('books the same key once, and answers the first entry again', async () => {
      const freelancer = randomUUID();
      const entry = {
        idempotencyKey: `test:${randomUUID()}`,
        kind: 'routed',
        description: 'once',
        lines: routed(freelancer, platform(), '50.00'),
      };
      const first = await sut.post(null, entry);
      const again = await db.transaction((tx) => sut.post(tx, entry));
      expect(again).toEqual({ entryId: first.entryId, created: false });
      expect((await sut.freelancerBalance(freelancer)).inTransit.toFixed(2)).toBe('50.00');
    });

    it('books the same key once when twenty posters race', async () => {
      const freelancer = randomUUID();
      const entry = {
        idempotencyKey: `test:${randomUUID()}`,
        kind: 'routed',
        description: 'race',
        lines: routed(freelancer, platform(), '3.21'),
      };
      const results = await Promise.all(Array.from({ length: 20 }, () => sut.post(null, entry)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.entryId)).size).toBe(1);
      expect((await sut.freelancerBalance(freelancer)).inTransit.toFixed(2)).toBe('3.21');
    });

    it('throws when a booked key comes back with other lines', async () => {
      const freelancer = randomUUID();
      const where = platform();
      const key = `test:${randomUUID()}`;
      await sut.post(null, {
        idempotencyKey: key,
        kind: 'routed',
        description: '',
        lines: routed(freelancer, where, '1.00'),
      });
      await expect(
        sut.post(null, {
          idempotencyKey: key,
          kind: 'routed',
          description: '',
          lines: routed(freelancer, where, '2.00'),
        }),
      ).rejects.toThrow(LedgerError);
    });

    it('writes nothing when the caller rolls its transaction back', async () => {
      const freelancer = randomUUID();
      await expect(
        db.transaction(async (tx) => {
          await sut.post(tx, {
            idempotencyKey: `test:${randomUUID()}`,
            kind: 'routed',
            description: '',
            lines: routed(freelancer, platform(), '9.99'),
          });
          throw new Error('the caller changed its mind');
        }),
      ).rejects.toThrow('the caller changed its mind');
      expect((await sut.freelancerBalance(freelancer)).inTransit.toFixed(2)).toBe('0.00');
    });

    it('gives the exact total after 100 concurrent postings to one account', async () => {
      const where = platform();
      const amounts = Array.from({ length: 100 }, (_, i) =>
        d(`${i + 1}.${String((i * 37) % 100).padStart(2, '0')}`),
      );
      await Promise.all(
        amounts.map((amount) =>
          sut.post(null, {
            idempotencyKey: `test:${randomUUID()}`,
            kind: 'routed',
            description: 'concurrent',
            lines: routed(randomUUID(), where, amount.toFixed(2)),
          }),
        ),
      );
      const expected = amounts.reduce((sum, a) => sum.plus(a), d('0'));
      expect(await balanceOf(`platform_receivable:${where}`)).toBe(expected.toFixed(2));
    });
  });

  describe('trialBalance', () => {
    it('shows debits equal to credits for every currency', async () => {
      await sut.post(null, {
        idempotencyKey: `test:${randomUUID()}`,
        kind: 'routed',
        description: '',
        lines: routed(randomUUID(), platform(), '100.00'),
      });
      const rows = await sut.trialBalance();
      expect(rows.map((r) => r.currency)).toContain('USD');
      for (const row of rows) {
        expect(row.debits.toFixed(2)).toBe(row.credits.toFixed(2));
        expect(row.debits.greaterThanOrEqualTo(100)).toBe(true);
      }
    });
  });
});
