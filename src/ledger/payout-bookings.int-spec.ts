import fc from 'fast-check';
import Decimal from 'decimal.js';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { waitFor } from '../../test/support/app';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { MoneyDecimal, roundCents } from '../money/money';
import { LedgerError } from './chart';
import { FeeBreakdown } from './fee-lines';
import { LedgerService } from './ledger.service';
import { PayoutBookings } from './payout-bookings.service';

const d = (text: string) => new MoneyDecimal(text);
const ZERO = d('0');

function breakdown(micros: bigint[]): FeeBreakdown {
  const [fixed, percent, fx, intermediary] = micros.map((m) => new MoneyDecimal(m.toString()).div(1_000_000));
  return {
    fixed,
    percent,
    fx,
    intermediary,
    total: roundCents(fixed.plus(percent).plus(fx).plus(intermediary)),
  };
}

describe(PayoutBookings.name, () => {
  let db: DataSource;
  let ledger: LedgerService;
  let sut: PayoutBookings;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions(loadConfig().databaseUrl));
    await db.initialize();
    ledger = new LedgerService(db);
    sut = new PayoutBookings(ledger);
  });

  afterAll(async () => {
    await db.destroy();
  });

  const inTx = <T>(work: (tx: EntityManager) => Promise<T>) => db.transaction(work);

  async function balances(prefix: string): Promise<Map<string, Decimal>> {
    const rows: { account: string; balance: string }[] = await db.query(
      `SELECT account, sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END)::text AS balance
         FROM ledger_lines WHERE account LIKE $1 GROUP BY account`,
      [`%${prefix}%`],
    );
    return new Map(rows.map((r) => [r.account, d(r.balance)]));
  }

  function payout(gross = '1000.00') {
    const tag = randomUUID().slice(0, 8);
    return {
      payoutId: randomUUID(),
      freelancerId: randomUUID(),
      platform: `plat-${tag}`,
      provider: `prov-${tag}`,
      gross: d(gross),
    };
  }

  describe('step by step', () => {
    it('books a payout from routing to settlement and shows it in the freelancer balance', async () => {
      const p = payout('1250.00');
      const fees = breakdown([2_000_000n, 37_500_000n, 312_500n, 0n]);
      const net = p.gross.minus(fees.total);
      await inTx((tx) => sut.bookRouted(tx, p));
      expect((await ledger.freelancerBalance(p.freelancerId)).inTransit.toFixed(2)).toBe('1250.00');
      await inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      await inTx((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net }));
      const balance = await ledger.freelancerBalance(p.freelancerId);
      expect([balance.settled.toFixed(2), balance.inTransit.toFixed(2)]).toEqual(['1210.19', '0.00']);
      const entries = await ledger.entriesForPayout(p.payoutId);
      expect(entries.map((e) => [e.kind, e.lines.length])).toEqual([
        ['routed', 2],
        ['sent', 2],
        ['settled', 7],
      ]);
    });

    it('books each step once when it is booked again, also concurrently', async () => {
      const p = payout();
      const fees = breakdown([1_000_000n, 0n, 0n, 0n]);
      const twice = (work: (tx: EntityManager) => Promise<void>) => Promise.all([inTx(work), inTx(work)]);
      await twice((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookRouted(tx, p));
      await twice((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      await twice((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net: p.gross.minus(fees.total) }));
      await inTx((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net: p.gross.minus(fees.total) }));
      expect((await ledger.entriesForPayout(p.payoutId)).map((e) => e.kind)).toEqual([
        'routed',
        'sent',
        'settled',
      ]);
      expect((await ledger.freelancerBalance(p.freelancerId)).settled.toFixed(2)).toBe('999.00');
    });

    it('reverses a rejected attempt, then settles on another provider', async () => {
      const p = payout('500.00');
      const fees = breakdown([0n, 5_000_000n, 0n, 0n]);
      await inTx((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      await inTx((tx) => sut.bookAttemptRejected(tx, { ...p, attemptSeq: 1 }));
      await inTx((tx) => sut.bookAttemptRejected(tx, { ...p, attemptSeq: 1 }));
      const other = `${p.provider}-b`;
      await inTx((tx) =>
        sut.bookSettled(tx, { ...p, provider: other, attemptSeq: 2, fees, net: p.gross.minus(fees.total) }),
      );
      const entries = await ledger.entriesForPayout(p.payoutId);
      expect(entries.map((e) => e.kind)).toEqual(['routed', 'sent', 'attempt_rejected', 'sent', 'settled']);
      expect(entries[2].reversesEntryId).toBe(entries[1].id);
      const accounts = await balances(p.platform.slice(5));
      expect(accounts.get(`provider_in_transit:${p.provider}`)?.toFixed(2)).toBe('0.00');
      expect(accounts.get(`provider_in_transit:${other}`)?.toFixed(2)).toBe('0.00');
      expect(accounts.get(`platform_receivable:${p.platform}`)?.toFixed(2)).toBe('0.00');
      expect(accounts.get(`provider_disbursed:${other}`)?.toFixed(2)).toBe('500.00');
      expect(accounts.get(`provider_fees:${other}:percent`)?.toFixed(2)).toBe('-5.00');
    });

    it('ignores the rejection of an attempt that was never booked as sent', async () => {
      const p = payout();
      await inTx((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookAttemptRejected(tx, { ...p, attemptSeq: 1 }));
      expect((await ledger.entriesForPayout(p.payoutId)).map((e) => e.kind)).toEqual(['routed']);
    });

    it('reverses what is outstanding when the payout fails, and routes it again in a new round', async () => {
      const p = payout('300.00');
      await inTx((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      await inTx((tx) => sut.bookFailed(tx, p));
      await inTx((tx) => sut.bookFailed(tx, p));
      expect((await ledger.freelancerBalance(p.freelancerId)).inTransit.toFixed(2)).toBe('0.00');
      await inTx((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookRouted(tx, p));
      expect((await ledger.freelancerBalance(p.freelancerId)).inTransit.toFixed(2)).toBe('300.00');
      expect((await ledger.entriesForPayout(p.payoutId)).map((e) => e.kind)).toEqual([
        'routed',
        'sent',
        'attempt_rejected',
        'failed',
        'routed',
      ]);
    });

    it('books a return: settled drops by the net, held at the provider for the freelancer', async () => {
      const p = payout('200.00');
      const fees = breakdown([2_000_000n, 0n, 0n, 0n]);
      const net = p.gross.minus(fees.total);
      await inTx((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      await inTx((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net }));
      await inTx((tx) => sut.bookReturned(tx, { ...p, attemptSeq: 1, fees, net }));
      await inTx((tx) => sut.bookReturned(tx, { ...p, attemptSeq: 1, fees, net }));
      expect((await ledger.freelancerBalance(p.freelancerId)).settled.toFixed(2)).toBe('0.00');
      const accounts = await balances(p.provider.slice(5));
      expect(accounts.get(`provider_returns:${p.provider}`)?.toFixed(2)).toBe('198.00');
      expect(accounts.get(`freelancer_returned:${p.freelancerId}`)).toBeUndefined();
      const mine = await balances(p.freelancerId);
      expect(mine.get(`freelancer_returned:${p.freelancerId}`)?.toFixed(2)).toBe('-198.00');
    });

    it('books a refund of the returned net once, from what is held for the freelancer to the platform', async () => {
      const p = payout('300.00');
      const fees = breakdown([2_500_000n, 0n, 0n, 0n]);
      const net = p.gross.minus(fees.total);
      const refund = { payoutId: p.payoutId, attemptSeq: 1, platform: p.platform, reference: 'RF-1' };
      await inTx((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      await inTx((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net }));
      await expect(inTx((tx) => sut.bookRefunded(tx, refund))).rejects.toThrow(/not booked as returned/);
      await inTx((tx) => sut.bookReturned(tx, { ...p, attemptSeq: 1, fees, net }));
      const refunded = await Promise.all([
        inTx((tx) => sut.bookRefunded(tx, refund)),
        inTx((tx) => sut.bookRefunded(tx, refund)),
      ]);
      expect(refunded.map((n) => n.toFixed(2))).toEqual(['297.50', '297.50']);
      expect((await ledger.entriesForPayout(p.payoutId)).map((e) => e.kind)).toEqual([
        'routed',
        'sent',
        'settled',
        'returned',
        'refunded',
      ]);
      expect(await ledger.freelancerBalance(p.freelancerId)).toEqual({
        currency: 'USD',
        settled: d('0'),
        inTransit: d('0'),
        returned: d('0'),
      });
      const accounts = await balances(p.provider.slice(5));
      expect(accounts.get(`provider_returns:${p.provider}`)?.toFixed(2)).toBe('0.00');
      expect(accounts.get(`provider_refunded:${p.provider}`)?.toFixed(2)).toBe('297.50');
      expect((await balances(p.platform)).get(`platform_refunded:${p.platform}`)?.toFixed(2)).toBe('-297.50');
    });

    it('refuses steps out of order and leaves the books as they were', async () => {
      const p = payout();
      const fees = breakdown([1_000_000n, 0n, 0n, 0n]);
      const net = p.gross.minus(fees.total);
      await expect(inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }))).rejects.toThrow(
        /not booked as routed/,
      );
      await expect(inTx((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net }))).rejects.toThrow(
        /not booked as routed/,
      );
      await inTx((tx) => sut.bookRouted(tx, p));
      await expect(
        inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1, gross: d('999.99') })),
      ).rejects.toThrow(LedgerError);
      await inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      await expect(inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 2 }))).rejects.toThrow(
        /reject it first/,
      );
      await expect(
        inTx((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net: net.minus('0.01') })),
      ).rejects.toThrow(/not gross/);
      await expect(inTx((tx) => sut.bookReturned(tx, { ...p, attemptSeq: 1, fees, net }))).rejects.toThrow(
        /not booked as settled/,
      );
      await inTx((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net }));
      await expect(inTx((tx) => sut.bookFailed(tx, p))).rejects.toThrow(/cannot fail/);
      await expect(inTx((tx) => sut.bookAttemptRejected(tx, { ...p, attemptSeq: 1 }))).rejects.toThrow(
        /cannot be rejected/,
      );
      expect((await ledger.entriesForPayout(p.payoutId)).map((e) => e.kind)).toEqual([
        'routed',
        'sent',
        'settled',
      ]);
    });

    it('refuses to route an open round again for another freelancer or from another platform', async () => {
      const p = {
        payoutId: randomUUID(),
        freelancerId: randomUUID(),
        platform: 'upwork',
        gross: new MoneyDecimal('100.00'),
      };
      await db.transaction((tx) => sut.bookRouted(tx, p));
      await expect(
        db.transaction((tx) => sut.bookRouted(tx, { ...p, freelancerId: randomUUID() })),
      ).rejects.toThrow(LedgerError);
      await expect(db.transaction((tx) => sut.bookRouted(tx, { ...p, platform: 'fiverr' }))).rejects.toThrow(
        LedgerError,
      );
      await db.transaction((tx) => sut.bookRouted(tx, p));
    });

    it('refuses to route an open round again for another gross, and to settle another gross than was sent', async () => {
      const p = payout('600.00');
      const fees = breakdown([6_000_000n, 0n, 0n, 0n]);
      await inTx((tx) => sut.bookRouted(tx, p));
      await expect(inTx((tx) => sut.bookRouted(tx, { ...p, gross: d('650.00') }))).rejects.toThrow(
        /differs from 600.00/,
      );
      await inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      const other = d('500.00');
      await expect(
        inTx((tx) =>
          sut.bookSettled(tx, { ...p, gross: other, attemptSeq: 1, fees, net: other.minus(fees.total) }),
        ),
      ).rejects.toThrow(/differs from 600.00/);
      expect((await ledger.entriesForPayout(p.payoutId)).map((e) => e.kind)).toEqual(['routed', 'sent']);
      expect((await ledger.freelancerBalance(p.freelancerId)).inTransit.toFixed(2)).toBe('600.00');
      expect((await balances(p.provider)).get(`provider_in_transit:${p.provider}`)?.toFixed(2)).toBe(
        '600.00',
      );
    });

    it('serializes the bookings of one payout: a failure waiting on a settlement sees it, and books nothing', async () => {
      const p = payout('700.00');
      const fees = breakdown([7_000_000n, 0n, 0n, 0n]);
      const net = p.gross.minus(fees.total);
      await inTx((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      // The settlement's transaction is still open when the failure of the same payout starts.
      let commitSettlement!: () => void;
      const settlementBooked = new Promise<void>((booked) => {
        void inTx(async (tx) => {
          await sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net });
          booked();
          await new Promise<void>((commit) => (commitSettlement = commit));
        });
      });
      await settlementBooked;
      const failing = inTx((tx) => sut.bookFailed(tx, p)).then(
        () => null,
        (error: unknown) => error,
      );
      // The failure waits for the payout's ledger lock, which the settlement holds until it commits.
      await waitFor(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                 AND wait_event = 'advisory'`,
            )
          ).length > 0,
        { what: 'the failure to wait for the ledger lock of its payout' },
      );
      commitSettlement();
      expect(await failing).toEqual(
        expect.objectContaining({ message: expect.stringMatching(/cannot fail/) }),
      );
      expect((await ledger.entriesForPayout(p.payoutId)).map((e) => e.kind)).toEqual([
        'routed',
        'sent',
        'settled',
      ]);
      expect(await ledger.freelancerBalance(p.freelancerId)).toEqual({
        currency: 'USD',
        settled: net,
        inTransit: ZERO,
        returned: ZERO,
      });
    });

    it('refuses to settle or return for another freelancer or provider than the one booked', async () => {
      const p = payout('400.00');
      const fees = breakdown([4_000_000n, 0n, 0n, 0n]);
      const net = p.gross.minus(fees.total);
      const stranger = randomUUID();
      await inTx((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookSent(tx, { ...p, attemptSeq: 1 }));
      await expect(
        inTx((tx) => sut.bookSettled(tx, { ...p, freelancerId: stranger, attemptSeq: 1, fees, net })),
      ).rejects.toThrow(/routed for another freelancer/);
      await inTx((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net }));
      await expect(
        inTx((tx) => sut.bookReturned(tx, { ...p, freelancerId: stranger, attemptSeq: 1, fees, net })),
      ).rejects.toThrow(/settled for another freelancer/);
      await expect(
        inTx((tx) => sut.bookReturned(tx, { ...p, provider: `${p.provider}-b`, attemptSeq: 1, fees, net })),
      ).rejects.toThrow(/settled through another provider/);

      expect((await ledger.entriesForPayout(p.payoutId)).map((e) => e.kind)).toEqual([
        'routed',
        'sent',
        'settled',
      ]);
      expect(await ledger.freelancerBalance(stranger)).toEqual({
        currency: 'USD',
        settled: ZERO,
        inTransit: ZERO,
        returned: ZERO,
      });
      const accounts = await balances(p.provider.slice(5));
      expect(accounts.get(`provider_disbursed:${p.provider}-b`)).toBeUndefined();
      expect(accounts.get(`provider_in_transit:${p.provider}`)?.toFixed(2)).toBe('0.00');
    });
    it('refuses to give a returned net back to another platform than the one it was routed from', async () => {
      const p = payout('250.00');
      const fees = breakdown([5_000_000n, 0n, 0n, 0n]);
      const net = p.gross.minus(fees.total);
      await inTx((tx) => sut.bookRouted(tx, p));
      await inTx((tx) => sut.bookSettled(tx, { ...p, attemptSeq: 1, fees, net }));
      await inTx((tx) => sut.bookReturned(tx, { ...p, attemptSeq: 1, fees, net }));
      const elsewhere = `${p.platform}-b`;
      await expect(
        inTx((tx) =>
          sut.bookRefunded(tx, {
            payoutId: p.payoutId,
            attemptSeq: 1,
            platform: elsewhere,
            reference: 'RF-2',
          }),
        ),
      ).rejects.toThrow(/routed from another platform/);
      expect((await ledger.entriesForPayout(p.payoutId)).map((e) => e.kind)).toEqual([
        'routed',
        'sent',
        'settled',
        'returned',
      ]);
      expect((await balances(elsewhere)).size).toBe(0);
    });
  });

  describe('any sequence of pipeline outcomes', () => {
    type Status = 'new' | 'routed' | 'settled' | 'failed' | 'returned' | 'refunded';
    interface Model {
      payoutId: string;
      freelancerId: string;
      gross: Decimal;
      fees: FeeBreakdown;
      net: Decimal;
      status: Status;
      nextSeq: number;
      outstanding: { seq: number; provider: string } | null;
      settledOn: { seq: number; provider: string } | null;
    }
    type Op = 'route' | 'send' | 'reject' | 'rejectUnsent' | 'settle' | 'fail' | 'return' | 'refund';

    function ops(m: Model): Op[] {
      switch (m.status) {
        case 'new':
        case 'failed':
          return ['route'];
        case 'routed':
          return m.outstanding ? ['reject', 'settle', 'fail'] : ['send', 'rejectUnsent', 'settle', 'fail'];
        case 'settled':
          return ['return'];
        case 'returned':
          return ['refund'];
        case 'refunded':
          return [];
      }
    }

    const payoutArb = fc.record({
      grossCents: fc.bigInt({ min: 10_000n, max: 100_000_000n }),
      freelancer: fc.nat({ max: 1 }),
      fees: fc.array(fc.bigInt({ min: 0n, max: 20_000_000n }), { minLength: 4, maxLength: 4 }),
    });
    const commandArb = fc.record({
      payout: fc.nat(),
      choice: fc.nat(),
      provider: fc.nat({ max: 2 }),
      twice: fc.boolean(),
    });

    it('keeps debits equal to credits and every balance equal to what the payouts say', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(payoutArb, { minLength: 1, maxLength: 4 }),
          fc.array(commandArb, { minLength: 1, maxLength: 24 }),
          async (payoutSpecs, commands) => {
            const tag = randomUUID().slice(0, 8);
            const platform = `plat-${tag}`;
            const providers = ['a', 'b', 'c'].map((s) => `prov-${tag}-${s}`);
            const freelancers = [randomUUID(), randomUUID()];
            const models: Model[] = payoutSpecs.map((spec) => {
              const gross = new MoneyDecimal(spec.grossCents.toString()).div(100);
              const fees = breakdown(spec.fees);
              return {
                payoutId: randomUUID(),
                freelancerId: freelancers[spec.freelancer],
                gross,
                fees,
                net: gross.minus(fees.total),
                status: 'new',
                nextSeq: 1,
                outstanding: null,
                settledOn: null,
              };
            });

            for (const command of commands) {
              const m = models[command.payout % models.length];
              const valid = ops(m);
              if (!valid.length) continue;
              const op = valid[command.choice % valid.length];
              const base = { payoutId: m.payoutId, freelancerId: m.freelancerId, platform, gross: m.gross };
              const provider = providers[command.provider];
              let book: (tx: EntityManager) => Promise<void>;
              switch (op) {
                case 'route':
                  book = (tx) => sut.bookRouted(tx, base);
                  m.status = 'routed';
                  break;
                case 'send': {
                  const seq = m.nextSeq++;
                  book = (tx) => sut.bookSent(tx, { ...base, attemptSeq: seq, provider });
                  m.outstanding = { seq, provider };
                  break;
                }
                case 'reject': {
                  const attempt = m.outstanding!;
                  book = (tx) =>
                    sut.bookAttemptRejected(tx, {
                      ...base,
                      attemptSeq: attempt.seq,
                      provider: attempt.provider,
                    });
                  m.outstanding = null;
                  break;
                }
                case 'rejectUnsent': {
                  const seq = m.nextSeq++;
                  book = (tx) => sut.bookAttemptRejected(tx, { ...base, attemptSeq: seq, provider });
                  break;
                }
                case 'settle': {
                  const attempt = m.outstanding ?? { seq: m.nextSeq++, provider };
                  book = (tx) =>
                    sut.bookSettled(tx, {
                      ...base,
                      attemptSeq: attempt.seq,
                      provider: attempt.provider,
                      fees: m.fees,
                      net: m.net,
                    });
                  m.settledOn = attempt;
                  m.outstanding = null;
                  m.status = 'settled';
                  break;
                }
                case 'fail':
                  book = (tx) => sut.bookFailed(tx, base);
                  m.outstanding = null;
                  m.status = 'failed';
                  break;
                case 'return': {
                  const attempt = m.settledOn!;
                  book = (tx) =>
                    sut.bookReturned(tx, {
                      ...base,
                      attemptSeq: attempt.seq,
                      provider: attempt.provider,
                      fees: m.fees,
                      net: m.net,
                    });
                  m.status = 'returned';
                  break;
                }
                case 'refund': {
                  const attempt = m.settledOn!;
                  book = (tx) =>
                    sut
                      .bookRefunded(tx, {
                        payoutId: m.payoutId,
                        attemptSeq: attempt.seq,
                        platform,
                        reference: 'r',
                      })
                      .then(() => undefined);
                  m.status = 'refunded';
                  break;
                }
              }
              await (command.twice ? Promise.all([inTx(book), inTx(book)]) : inTx(book));
            }

            const [usd] = (await ledger.trialBalance()).filter((r) => r.currency === 'USD');
            expect(usd.debits.toFixed(2)).toBe(usd.credits.toFixed(2));

            for (const freelancerId of freelancers) {
              const mine = models.filter((m) => m.freelancerId === freelancerId);
              const sum = (pick: (m: Model) => Decimal) => mine.reduce((acc, m) => acc.plus(pick(m)), ZERO);
              const balance = await ledger.freelancerBalance(freelancerId);
              expect(balance.settled.toFixed(2)).toBe(
                sum((m) => (m.status === 'settled' ? m.net : ZERO)).toFixed(2),
              );
              expect(balance.inTransit.toFixed(2)).toBe(
                sum((m) => (m.status === 'routed' ? m.gross : ZERO)).toFixed(2),
              );
              expect(balance.returned.toFixed(2)).toBe(
                sum((m) => (m.status === 'returned' ? m.net : ZERO)).toFixed(2),
              );
            }

            const accounts = await balances(tag);
            const total = (pick: (m: Model) => Decimal) => models.reduce((acc, m) => acc.plus(pick(m)), ZERO);
            const of = (name: string) => (accounts.get(name) ?? ZERO).toFixed(2);
            expect(of(`platform_receivable:${platform}`)).toBe(
              total((m) => (m.status === 'routed' && !m.outstanding ? m.gross : ZERO)).toFixed(2),
            );
            expect(of(`platform_refunded:${platform}`)).toBe(
              total((m) => (m.status === 'refunded' ? m.net : ZERO))
                .negated()
                .toFixed(2),
            );
            for (const provider of providers) {
              const through = (pick: (m: Model) => Decimal) => total(pick);
              expect(of(`provider_in_transit:${provider}`)).toBe(
                through((m) => (m.outstanding?.provider === provider ? m.gross : ZERO)).toFixed(2),
              );
              const fees = [...accounts]
                .filter(([name]) => name.startsWith(`provider_fees:${provider}:`))
                .reduce((acc, [, b]) => acc.minus(b), ZERO);
              expect(fees.toFixed(2)).toBe(
                through((m) => (m.settledOn?.provider === provider ? m.fees.total : ZERO)).toFixed(2),
              );
              expect(of(`provider_returns:${provider}`)).toBe(
                through((m) =>
                  m.status === 'returned' && m.settledOn?.provider === provider ? m.net : ZERO,
                ).toFixed(2),
              );
              expect(of(`provider_refunded:${provider}`)).toBe(
                through((m) =>
                  m.status === 'refunded' && m.settledOn?.provider === provider ? m.net : ZERO,
                ).toFixed(2),
              );
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  });
});
