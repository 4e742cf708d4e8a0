/**
 * `npm run bench -- ledger [--entries N] [--concurrency C]`: ledger postings per second on a fresh database
 * of its own, sequential and with C concurrent posters. Each posting is a typical 6-line settled entry in its
 * own transaction (deferred balance triggers, idempotency key, accounts created on demand). The baseline is
 * the same lines written by a plain multi-row INSERT, one transaction each, into a temporary table (and, for
 * reference, into an ordinary table, which pays the same flush at commit).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DataSource, QueryRunner } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options';
import { dropDatabase } from '../src/database/prepare-database';
import { LedgerService } from '../src/ledger/ledger.service';
import { settledLines } from '../src/ledger/payout-entries';
import { PostingLine } from '../src/ledger/posting';
import { MoneyDecimal, roundCents } from '../src/money/money';
import { perSecond, rate } from './support/figures';
import { positiveIntegerOption } from './support/options';
import { createMigratedDatabase, scratchNames } from './support/scratch';

const PROVIDERS = ['payoneer', 'wise', 'correspondent'];

/** A settled payout: gross, fixed and percent fee, net to the freelancer, provider cleared (6 lines). */
function settledEntry(i: number): { key: string; lines: PostingLine[] } {
  const gross = new MoneyDecimal(`${100 + (i % 9000)}.${String(i % 100).padStart(2, '0')}`);
  const percent = gross.times('0.03');
  const fees = {
    fixed: new MoneyDecimal('2.00'),
    percent,
    fx: new MoneyDecimal(0),
    intermediary: new MoneyDecimal(0),
    total: roundCents(percent.plus('2.00')),
  };
  const lines = settledLines({
    freelancerId: randomUUID(),
    provider: PROVIDERS[i % PROVIDERS.length],
    gross,
    fees,
    net: gross.minus(fees.total),
  });
  return { key: `bench:${randomUUID()}`, lines };
}

/** Sessions for the baseline, each with its own table of the lines' shape and no constraints. */
async function baselineRunners(db: DataSource, count: number, temporary: boolean): Promise<QueryRunner[]> {
  const runners: QueryRunner[] = [];
  for (let i = 0; i < count; i += 1) {
    const runner = db.createQueryRunner();
    await runner.connect();
    const table = temporary ? 'baseline_lines' : `baseline_lines_${i}`;
    await runner.query(
      `CREATE ${temporary ? 'TEMP ' : ''}TABLE ${table} (entry_id uuid NOT NULL, line_no smallint NOT NULL,
         account text NOT NULL, currency char(3) NOT NULL, side text NOT NULL, amount numeric(20,2) NOT NULL)`,
    );
    runners.push(Object.assign(runner, { baselineTable: table }));
  }
  return runners;
}

async function baselineInsert(runner: QueryRunner, lines: PostingLine[]): Promise<void> {
  const entryId = randomUUID();
  const params: unknown[] = [];
  const values = lines.map((line, n) => {
    params.push(entryId, n + 1, line.account, 'USD', line.side, line.amount.toFixed(2));
    const p = params.length - 5;
    return `($${p}, $${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5})`;
  });
  const table = (runner as QueryRunner & { baselineTable: string }).baselineTable;
  await runner.query(
    `INSERT INTO ${table} (entry_id, line_no, account, currency, side, amount) VALUES ${values.join(', ')}`,
    params,
  );
}

function row(label: string, count: number, ledger: number, temp: number, logged: number): string {
  return (
    `${label.padEnd(14)} ${String(count).padStart(6)}   ledger ${rate(ledger, 6)}   temp-table baseline ${rate(temp, 6)}` +
    ` (ledger ${(ledger / temp).toFixed(2)}x)   plain-table ${rate(logged, 6)} (ledger ${(ledger / logged).toFixed(2)}x)`
  );
}

export async function run(args: string[]): Promise<void> {
  const entries = positiveIntegerOption(args, 'entries', 2000);
  const concurrency = positiveIntegerOption(args, 'concurrency', 8);
  const { databaseUrl } = scratchNames('ledger');
  await createMigratedDatabase(databaseUrl);
  const db = new DataSource({ ...dataSourceOptions(databaseUrl), extra: { max: concurrency * 2 + 2 } });
  try {
    await db.initialize();
    const ledger = new LedgerService(db);
    const post = async (i: number) => {
      const entry = settledEntry(i);
      await ledger.post(null, {
        idempotencyKey: entry.key,
        kind: 'settled',
        description: 'bench',
        lines: entry.lines,
      });
    };
    const temp = await baselineRunners(db, concurrency, true);
    const logged = await baselineRunners(db, concurrency, false);
    const plainTemp = (i: number, worker: number) => baselineInsert(temp[worker], settledEntry(i).lines);
    const plainLogged = (i: number, worker: number) => baselineInsert(logged[worker], settledEntry(i).lines);

    await perSecond(200, 1, post);
    await perSecond(200, 1, plainTemp);
    await perSecond(200, 1, plainLogged);
    const sequential = [
      await perSecond(entries, 1, post),
      await perSecond(entries, 1, plainTemp),
      await perSecond(entries, 1, plainLogged),
    ] as const;
    const concurrent = [
      await perSecond(entries * 2, concurrency, post),
      await perSecond(entries * 2, concurrency, plainTemp),
      await perSecond(entries * 2, concurrency, plainLogged),
    ] as const;
    for (const runner of [...temp, ...logged]) await runner.release();

    const [{ lines }] = await db.query(`SELECT count(*)::int AS lines FROM ledger_lines`);
    const [{ account }] = await db.query(
      `SELECT account FROM ledger_lines WHERE account LIKE 'freelancer_settled:%' LIMIT 1`,
    );
    const balanceStarted = performance.now();
    for (let i = 0; i < 100; i += 1) await ledger.freelancerBalance(account.split(':')[1]);
    const balanceMs = (performance.now() - balanceStarted) / 100;
    const trialStarted = performance.now();
    await ledger.trialBalance();
    const trialMs = performance.now() - trialStarted;

    process.stdout.write(
      [
        `ledger postings: 6-line settled entries, each in its own transaction (Postgres at ${new URL(databaseUrl).host})`,
        `entries/s; baselines write the same lines by one plain multi-row INSERT per transaction, no triggers,`,
        `keys, accounts or indexes: into a temp table (no WAL, so no flush at commit) and into an ordinary table`,
        row('sequential', entries, ...sequential),
        row(`${concurrency} concurrent`, entries * 2, ...concurrent),
        `reads over ${lines} lines: freelancer balance ${balanceMs.toFixed(2)} ms, trial balance ${trialMs.toFixed(0)} ms`,
        '',
      ].join('\n'),
    );
  } finally {
    if (db.isInitialized) await db.destroy();
    await dropDatabase(databaseUrl);
  }
}
