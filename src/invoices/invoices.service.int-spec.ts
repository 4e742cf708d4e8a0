import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import {
  insertConnection,
  insertFreelancer,
  insertPartner,
  insertPayout,
} from '../../test/support/payout-rows';
import { waitFor } from '../../test/support/app';
import { issueInput } from '../../test/support/invoice-fixtures';
import { Clock } from '../common/clock';
import { canonicalJson } from '../common/canonical-json';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { formatAmount, MoneyDecimal } from '../money/money';
import { IdempotencyService } from '../partners/idempotency.service';
import { SERVICE_CATEGORIES } from '../payouts/payout-instruction';
import { FxRatesService, holdFxRates } from './fx-rates.service';
import { InvoiceDocumentsService } from './invoice-documents.service';
import { sha256Hex, verifyDigest } from './invoice-signature';
import { InvoiceSigner } from './invoice-signer.service';
import { IssueInvoiceInput, InvoicesService } from './invoices.service';
import { pkrEquivalent, PURPOSE_CODES } from './pakistan-export';

describe(InvoicesService.name, () => {
  let db: DataSource;
  let sut: InvoicesService;
  let documents: InvoiceDocumentsService;
  let fxRates: FxRatesService;
  let publicKeyPem: string;

  beforeAll(async () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const config = { ...loadConfig(), invoiceSigningKeyPem: pem };
    db = new DataSource(dataSourceOptions(config.databaseUrl));
    await db.initialize();
    const signer = new InvoiceSigner(config);
    publicKeyPem = signer.publicKeyPem;
    fxRates = new FxRatesService(db, new Clock());
    documents = new InvoiceDocumentsService(db, signer, config);
    sut = new InvoicesService(db, signer, documents, new Clock(), new IdempotencyService(db));
  });

  afterAll(async () => {
    await db.destroy();
  });

  interface Exporter {
    partnerId: string;
    freelancerId: string;
    connectionId: string;
  }

  async function newExporter(overrides: { psebRegistrationNo?: string | null } = {}): Promise<Exporter> {
    const partnerId = await insertPartner(db);
    const freelancerId = await insertFreelancer(db, partnerId, overrides);
    return { partnerId, freelancerId, connectionId: await insertConnection(db, partnerId) };
  }

  function input(
    e: Exporter,
    payoutId: string,
    overrides: Partial<IssueInvoiceInput> = {},
  ): IssueInvoiceInput {
    return issueInput({ payoutId, partnerId: e.partnerId, freelancerId: e.freelancerId }, overrides);
  }

  async function issue(e: Exporter, overrides: Partial<IssueInvoiceInput> = {}, payoutId?: string) {
    const id = payoutId ?? (await insertPayout(db, e));
    const result = await db.transaction((tx) => sut.issueForPayout(tx, input(e, id, overrides)));
    return { payoutId: id, ...result };
  }

  async function row(invoiceId: string) {
    const [r] = await db.query(`SELECT * FROM invoices WHERE id = $1`, [invoiceId]);
    return r;
  }

  /**
   * Until another session waits for an advisory lock (the FX rates' lock, in these tests) that `held` holds. Scoped
   * to `held`: a lock awaited elsewhere on this Postgres (another test database, a benchmark) does not count.
   */
  async function advisoryLockAwaited(held: QueryRunner) {
    const [{ pid }] = await held.query(`SELECT pg_backend_pid() AS pid`);
    await waitFor(
      async () =>
        (
          await db.query(
            `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND $1 = ANY(pg_blocking_pids(pid))`,
            [pid],
          )
        ).length > 0,
      { what: 'a session to wait for the FX rates lock' },
    );
  }

  function realize(payoutId: string, realizedAt: Date, fees = '51.25', net = '1198.75') {
    return db.transaction((tx) =>
      sut.markRealized(tx, {
        payoutId,
        realizedAt,
        route: { routeId: 'payoneer-usd-bank', provider: 'payoneer', rail: 'payoneer' },
        routingFees: new MoneyDecimal(fees),
        netRealized: new MoneyDecimal(net),
      }),
    );
  }

  describe('issueForPayout', () => {
    it('issues a signed invoice awaiting proceeds, numbered 1 for a new exporter', async () => {
      const e = await newExporter();
      const { invoiceId, created, payoutId } = await issue(e);
      expect(created).toBe(true);
      const invoice = await documents.get(e.partnerId, invoiceId);
      expect(invoice).toMatchObject({
        number: 'INV-2026-000001',
        issuedAt: '2026-11-21T10:00:00.000Z',
        gross: '1250.00',
        currency: 'USD',
        purposeCode: '9186',
        payoutId,
        exportStatus: 'awaiting_proceeds',
        routingFees: null,
        netRealized: null,
        fx: null,
        pkrEquivalent: null,
        route: null,
        statusHistory: [
          { status: 'awaiting_proceeds', at: '2026-11-21T10:00:00.000Z', detail: expect.any(String) },
        ],
      });
      const issued = {
        id: invoice.id,
        number: invoice.number,
        issuedAt: invoice.issuedAt,
        exporter: invoice.exporter,
        client: invoice.client,
        lines: invoice.lines,
        currency: invoice.currency,
        gross: invoice.gross,
        purposeCode: invoice.purposeCode,
        payoutId: invoice.payoutId,
      };
      expect(invoice.sha256).toBe(sha256Hex(canonicalJson(issued)));
      expect(verifyDigest(invoice.sha256, invoice.signature, createPublicKey(publicKeyPem))).toBe(true);
    });

    it('answers the existing invoice to a second call, without taking a number', async () => {
      const e = await newExporter();
      const first = await issue(e);
      const again = await issue(e, {}, first.payoutId);
      expect(again).toEqual({ payoutId: first.payoutId, invoiceId: first.invoiceId, created: false });
      const next = await issue(e);
      expect((await row(next.invoiceId)).number).toBe('INV-2026-000002');
    });

    it('issues one invoice when the same payout is issued by many transactions at once', async () => {
      const e = await newExporter();
      const payoutId = await insertPayout(db, e);
      const results = await Promise.all(
        Array.from({ length: 8 }, () => db.transaction((tx) => sut.issueForPayout(tx, input(e, payoutId)))),
      );
      expect(new Set(results.map((r) => r.invoiceId)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM invoices WHERE payout_id = $1`, [
        payoutId,
      ]);
      expect(n).toBe(1);
      const [{ last }] = await db.query(`SELECT last FROM invoice_counters WHERE freelancer_id = $1`, [
        e.freelancerId,
      ]);
      expect(last).toBe(1);
    });

    it('numbers 50 payouts of one freelancer routed at once 1..50, with no gap and no repeat', async () => {
      const e = await newExporter();
      const payoutIds = await Promise.all(Array.from({ length: 50 }, () => insertPayout(db, e)));
      const results = await Promise.all(
        payoutIds.map((payoutId) => db.transaction((tx) => sut.issueForPayout(tx, input(e, payoutId)))),
      );
      expect(results.every((r) => r.created)).toBe(true);
      const rows: Array<{ seq: number; number: string }> = await db.query(
        `SELECT seq, number FROM invoices WHERE freelancer_id = $1 ORDER BY seq`,
        [e.freelancerId],
      );
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(rows[49].number).toBe('INV-2026-000050');
    });

    it('never issues a later number at an earlier time (clocks of two workers, or a lock taken out of order)', async () => {
      const e = await newExporter();
      const first = await issue(e, { issuedAt: new Date('2026-11-30T06:00:00.500Z') });
      const second = await issue(e, { issuedAt: new Date('2026-11-30T06:00:00.200Z') });
      const third = await issue(e, { issuedAt: new Date('2026-11-30T06:00:01.000Z') });
      const issued = await Promise.all([first, second, third].map((i) => row(i.invoiceId)));
      expect(issued.map((r) => [r.number, r.issued_at.toISOString()])).toEqual([
        ['INV-2026-000001', '2026-11-30T06:00:00.500Z'],
        ['INV-2026-000002', '2026-11-30T06:00:00.500Z'],
        ['INV-2026-000003', '2026-11-30T06:00:01.000Z'],
      ]);
      const signed = JSON.parse(issued[1].issued_document);
      expect(signed.issuedAt).toBe('2026-11-30T06:00:00.500Z');
    });

    it('gives the number back when the issuing transaction rolls back', async () => {
      const e = await newExporter();
      await issue(e);
      const payoutId = await insertPayout(db, e);
      await expect(
        db.transaction(async (tx) => {
          await sut.issueForPayout(tx, input(e, payoutId));
          throw new Error('the payout step failed after issuing');
        }),
      ).rejects.toThrow('the payout step failed');
      const retried = await issue(e, {}, payoutId);
      expect((await row(retried.invoiceId)).number).toBe('INV-2026-000002');
    });

    it('keeps one sequence per exporter and per Pakistani calendar year', async () => {
      const a = await newExporter();
      const b = await newExporter();
      const numbers = async (e: Exporter, at: string) =>
        (await row((await issue(e, { issuedAt: new Date(at) })).invoiceId)).number;
      expect(await numbers(a, '2026-12-31T18:59:00Z')).toBe('INV-2026-000001');
      expect(await numbers(a, '2026-12-31T19:00:00Z')).toBe('INV-2027-000001');
      expect(await numbers(b, '2026-06-01T00:00:00Z')).toBe('INV-2026-000001');
      expect(await numbers(a, '2027-03-01T00:00:00Z')).toBe('INV-2027-000002');
      expect(await numbers(a, '2026-12-01T00:00:00Z')).toBe('INV-2026-000002');
    });

    it('codes every service category 9186 or 9249, never 9471', async () => {
      const e = await newExporter();
      for (const category of SERVICE_CATEGORIES) {
        const { invoiceId } = await issue(e, { serviceCategory: category });
        const invoice = await documents.get(e.partnerId, invoiceId);
        expect(invoice.purposeCode).toBe(PURPOSE_CODES[category]);
        expect(invoice.lines[0].serviceCategory).toBe(category);
      }
    });

    it('refuses a payout of another partner, a gross with fractions of a cent and an unknown category', async () => {
      const e = await newExporter();
      const other = await newExporter();
      const payoutId = await insertPayout(db, e);
      await expect(db.transaction((tx) => sut.issueForPayout(tx, input(other, payoutId)))).rejects.toThrow(
        /does not belong/,
      );
      await expect(issue(e, { gross: new MoneyDecimal('10.001') })).rejects.toThrow(
        /at most two fraction digits/,
      );
      await expect(issue(e, { serviceCategory: 'gambling' })).rejects.toThrow(/No purpose code/);
      const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM invoices WHERE freelancer_id = $1`, [
        e.freelancerId,
      ]);
      expect(n).toBe(0);
    });
  });

  describe('export status', () => {
    it('fills the realization once at settlement with the latest rate at or before that Pakistani date', async () => {
      await fxRates.put({ rate: '280.10', asOf: '2001-03-01' });
      await fxRates.put({ rate: '281.25', asOf: '2001-03-05' });
      await fxRates.put({ rate: '299.99', asOf: '2001-03-06' });
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      // 18:30Z is still 2001-03-05 in Pakistan; 20:00Z below is already 2001-03-06 there.
      await realize(payoutId, new Date('2001-03-05T18:30:00Z'));
      let invoice = await documents.get(e.partnerId, invoiceId);
      expect(invoice).toMatchObject({
        exportStatus: 'proceeds_realized',
        routingFees: '51.25',
        netRealized: '1198.75',
        fx: { pair: 'USD-PKR', rate: '281.25', asOf: '2001-03-05' },
        pkrEquivalent: '337148.44',
        esfcaRetained: '1198.75',
        realizedAt: '2001-03-05T18:30:00.000Z',
        route: { routeId: 'payoneer-usd-bank', provider: 'payoneer', rail: 'payoneer' },
      });
      expect(invoice.statusHistory.map((s) => s.status)).toEqual(['awaiting_proceeds', 'proceeds_realized']);

      await realize(payoutId, new Date('2001-03-07T00:00:00Z'), '1.00', '1249.00');
      invoice = await documents.get(e.partnerId, invoiceId);
      expect(invoice.netRealized).toBe('1198.75');
      expect(invoice.statusHistory).toHaveLength(2);

      const late = await issue(e);
      await realize(late.payoutId, new Date('2001-03-05T20:00:00Z'));
      expect((await documents.get(e.partnerId, late.invoiceId)).fx?.rate).toBe('299.99');
    });

    it('leaves fx and pkrEquivalent null when no rate exists at or before the realization date', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      await realize(payoutId, new Date('1990-01-02T00:00:00Z'));
      const invoice = await documents.get(e.partnerId, invoiceId);
      expect(invoice).toMatchObject({
        exportStatus: 'proceeds_realized',
        fx: null,
        pkrEquivalent: null,
        netRealized: '1198.75',
      });
    });

    it('fills the rate and PKR equivalent of proceeds realized before any rate, once, when ops record one', async () => {
      const e = await newExporter();
      const early = await issue(e);
      const late = await issue(e);
      // 19:30 UTC on 3 June is 4 June in Pakistan: the day whose rate applies.
      await realize(early.payoutId, new Date('1991-06-03T19:30:00Z'), '51.25', '1198.75');
      await realize(late.payoutId, new Date('1991-06-20T10:00:00Z'), '0.01', '1249.99');
      expect((await row(early.invoiceId)).fx_rate).toBeNull();

      await fxRates.put({ rate: '21.5050', asOf: '1991-06-05' });
      expect(await documents.get(e.partnerId, early.invoiceId)).toMatchObject({
        fx: null,
        pkrEquivalent: null,
      });
      await fxRates.put({ rate: '21.4200', asOf: '1991-06-04' });
      // 1198.75 × 21.42 = 25677.225: half-up to cents as pkrEquivalent() gives .23 (half-even would give .22).
      expect(formatAmount(pkrEquivalent(new MoneyDecimal('1198.75'), new MoneyDecimal('21.42')))).toBe(
        '25677.23',
      );
      expect(await documents.get(e.partnerId, early.invoiceId)).toMatchObject({
        fx: { pair: 'USD-PKR', rate: '21.42', asOf: '1991-06-04' },
        pkrEquivalent: '25677.23',
      });
      expect(await documents.get(e.partnerId, late.invoiceId)).toMatchObject({
        fx: { pair: 'USD-PKR', rate: '21.505', asOf: '1991-06-05' },
        pkrEquivalent: '26881.03',
      });

      await fxRates.put({ rate: '30.0000', asOf: '1991-06-19' });
      expect(await documents.get(e.partnerId, late.invoiceId)).toMatchObject({
        fx: { pair: 'USD-PKR', rate: '21.505', asOf: '1991-06-05' },
      });
      await expect(
        db.query(`UPDATE invoices SET fx_rate = 30, pkr_equivalent = 1 WHERE id = $1`, [late.invoiceId]),
      ).rejects.toThrow(/is filled once/);
    });

    it('refuses a realization whose fees and net do not add up to the gross, and one without an invoice', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      await expect(realize(payoutId, new Date(), '50.00', '1198.75')).rejects.toThrow(/do not add up/);
      expect((await row(invoiceId)).export_status).toBe('awaiting_proceeds');
      await expect(realize(await insertPayout(db, e), new Date())).rejects.toThrow(/without an invoice/);
    });

    it('fails the proceeds once; a repeat and a payout without invoice change nothing', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      const fail = (id: string) =>
        db.transaction((tx) =>
          sut.markFailed(tx, {
            payoutId: id,
            at: new Date('2026-11-22T00:00:00Z'),
            reason: 'every route failed',
          }),
        );
      await fail(payoutId);
      await fail(payoutId);
      await fail(await insertPayout(db, e));
      const invoice = await documents.get(e.partnerId, invoiceId);
      expect(invoice.exportStatus).toBe('proceeds_failed');
      expect(invoice.statusHistory).toEqual([
        expect.objectContaining({ status: 'awaiting_proceeds' }),
        { status: 'proceeds_failed', at: '2026-11-22T00:00:00.000Z', detail: 'every route failed' },
      ]);
      await realize(payoutId, new Date('2026-11-23T00:00:00Z'));
      expect((await documents.get(e.partnerId, invoiceId)).exportStatus).toBe('proceeds_realized');
    });

    it('moves realized proceeds to failed when the provider returns them', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      await realize(payoutId, new Date('2026-11-22T00:00:00Z'));
      const returned = () =>
        db.transaction((tx) =>
          sut.markReturned(tx, { payoutId, at: new Date('2026-11-25T00:00:00Z'), reason: 'R03' }),
        );
      await returned();
      await returned();
      const invoice = await documents.get(e.partnerId, invoiceId);
      expect(invoice.exportStatus).toBe('proceeds_failed');
      expect(invoice.netRealized).toBe('1198.75');
      expect(invoice.statusHistory.map((s) => s.status)).toEqual([
        'awaiting_proceeds',
        'proceeds_realized',
        'proceeds_failed',
      ]);
    });

    it('tops the ESFCA up to the allowance of the month’s standing proceeds after a return', async () => {
      const e = await newExporter();
      const gross = { gross: new MoneyDecimal('4000.00') };
      const [a, b, c] = [await issue(e, gross), await issue(e, gross), await issue(e, gross)];
      await realize(a.payoutId, new Date('2026-11-03T10:00:00Z'), '0.00', '4000.00');
      await realize(b.payoutId, new Date('2026-11-04T10:00:00Z'), '0.00', '4000.00');
      // A's 4,000.00 comes back: November's standing proceeds are B's 4,000.00, of which the ESFCA kept 1,000.00.
      await db.transaction((tx) =>
        sut.markReturned(tx, { payoutId: a.payoutId, at: new Date('2026-11-05T10:00:00Z'), reason: 'R03' }),
      );
      await realize(c.payoutId, new Date('2026-11-06T10:00:00Z'), '0.00', '4000.00');
      const shares = await Promise.all(
        [a, b, c].map(async (x) => (await documents.get(e.partnerId, x.invoiceId)).esfcaRetained),
      );
      // Standing: B and C, 8,000.00, whose allowance is the higher of 5,000.00 and half: C brings it to 5,000.00.
      expect(shares).toEqual(['4000.00', '1000.00', '4000.00']);
    });

    it('refuses a return for an invoice whose proceeds were never realized, so the return does not commit', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      await expect(
        db.transaction((tx) =>
          sut.markReturned(tx, { payoutId, at: new Date('2026-11-25T00:00:00Z'), reason: 'R03' }),
        ),
      ).rejects.toThrow(/in no state a return can move/);
      expect((await documents.get(e.partnerId, invoiceId)).exportStatus).toBe('awaiting_proceeds');
    });

    it('keeps a held Idempotency-Key’s answer with the e-PRC, so a retry after a crash gets it even once the proceeds came back', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      await realize(payoutId, new Date('2026-11-22T00:00:00Z'));
      const keys = new IdempotencyService(db);
      const key = `prc-${invoiceId}`;
      const claim = await keys.claim(e.partnerId, key, 'hash-of-the-prc-request');
      if (claim.kind !== 'claimed') throw new Error(`the key was not claimed: ${claim.kind}`);
      const hold = {
        partnerId: e.partnerId,
        key,
        requestHash: 'hash-of-the-prc-request',
        token: claim.token,
        status: 200,
      };
      const prc = { prcNumber: 'PRC-HELD-1', issuedAt: '2026-11-23', bank: 'Meezan Bank' };
      const recorded = await sut.recordPrc(e.partnerId, invoiceId, prc, hold);
      // The process dies before the interceptor stores the answer; the proceeds come back meanwhile.
      await db.transaction((tx) =>
        sut.markReturned(tx, { payoutId, at: new Date('2026-11-25T00:00:00Z'), reason: 'R03' }),
      );
      expect(await keys.claim(e.partnerId, key, 'hash-of-the-prc-request')).toEqual({
        kind: 'replay',
        status: 200,
        body: JSON.parse(JSON.stringify(recorded)),
      });
      expect(recorded.exportStatus).toBe('prc_issued');
    });

    it('moves proceeds returned after the e-PRC to failed, keeping the e-PRC on record', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      await realize(payoutId, new Date('2026-11-22T00:00:00Z'));
      const prc = { prcNumber: 'PRC-RETURNED-1', issuedAt: '2026-11-23', bank: 'Meezan Bank' };
      await sut.recordPrc(e.partnerId, invoiceId, prc);
      await db.transaction((tx) =>
        sut.markReturned(tx, { payoutId, at: new Date('2026-11-25T00:00:00Z'), reason: 'R03' }),
      );
      const invoice = await documents.get(e.partnerId, invoiceId);
      expect(invoice.exportStatus).toBe('proceeds_failed');
      expect(invoice.prc).toMatchObject({ prcNumber: 'PRC-RETURNED-1', bank: 'Meezan Bank' });
      expect(invoice.statusHistory.map((s) => s.status)).toEqual([
        'awaiting_proceeds',
        'proceeds_realized',
        'prc_issued',
        'proceeds_failed',
      ]);
      const [last] = await db.query(
        `SELECT previous_status, document FROM invoice_status_events WHERE invoice_id = $1 ORDER BY id DESC LIMIT 1`,
        [invoiceId],
      );
      expect(last.previous_status).toBe('prc_issued');
      expect(JSON.parse(last.document)).toMatchObject({
        previousStatus: 'prc_issued',
        status: 'proceeds_failed',
      });
      await expect(sut.recordPrc(e.partnerId, invoiceId, prc)).rejects.toMatchObject({ status: 409 });
      // prc_issued still always has its e-PRC: the check refuses the status for realized proceeds without one.
      const other = await issue(e);
      await realize(other.payoutId, new Date('2026-11-22T00:00:00Z'));
      await expect(
        db.query(`UPDATE invoices SET export_status = 'prc_issued' WHERE id = $1`, [other.invoiceId]),
      ).rejects.toThrow(/invoices_prc_status/);
    });

    it('takes an e-PRC dated the day the proceeds were realized in Pakistan, not the day before', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      // 20:30 UTC on 21 November is 01:30 on 22 November in Pakistan.
      await realize(payoutId, new Date('2026-11-21T20:30:00Z'));
      const prc = { prcNumber: 'PRC-SAME-DAY', bank: 'HBL' };
      await expect(
        sut.recordPrc(e.partnerId, invoiceId, { ...prc, issuedAt: '2026-11-21' }),
      ).rejects.toMatchObject({
        status: 400,
        errors: [{ field: 'issuedAt', message: expect.stringContaining('2026-11-22') }],
      });
      expect((await row(invoiceId)).export_status).toBe('proceeds_realized');
      const recorded = await sut.recordPrc(e.partnerId, invoiceId, { ...prc, issuedAt: '2026-11-22' });
      expect(recorded.exportStatus).toBe('prc_issued');
    });

    it('refuses an e-PRC issued after today in Pakistan', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      await realize(payoutId, new Date());
      const tomorrowInPakistan = new Date(Date.now() + 29 * 60 * 60 * 1000).toISOString();
      await expect(
        sut.recordPrc(e.partnerId, invoiceId, {
          prcNumber: 'PRC-LATER',
          issuedAt: tomorrowInPakistan,
          bank: 'HBL',
        }),
      ).rejects.toMatchObject({ status: 400 });
      expect((await row(invoiceId)).export_status).toBe('proceeds_realized');
    });

    it('gives proceeds realized while a rate is being recorded that rate, whichever commits first', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      const realizing = db.createQueryRunner();
      await realizing.connect();
      await realizing.startTransaction();
      try {
        // 1985: no test records a rate that far back, so this realization finds none.
        await sut.markRealized(realizing.manager, {
          payoutId,
          realizedAt: new Date('1985-03-10T10:00:00Z'),
          route: { routeId: 'payoneer-usd-bank', provider: 'payoneer', rail: 'payoneer' },
          routingFees: new MoneyDecimal('51.25'),
          netRealized: new MoneyDecimal('1198.75'),
        });
        const recording = fxRates.put({ rate: '25.0000', asOf: '1985-03-09' });
        await advisoryLockAwaited(realizing);
        await realizing.commitTransaction();
        await recording;
      } finally {
        await realizing.release();
      }
      expect(await documents.get(e.partnerId, invoiceId)).toMatchObject({
        fx: { pair: 'USD-PKR', rate: '25.00', asOf: '1985-03-09' },
        pkrEquivalent: '29968.75',
      });
    });

    it('gives proceeds realized while a rate is being recorded that rate when the rate commits first', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      const recording = db.createQueryRunner();
      await recording.connect();
      await recording.startTransaction();
      try {
        // What FxRatesService.put does first: the lock held alone, then the rate. 1984: no other test goes there.
        await holdFxRates(recording.manager, 'exclusive');
        await recording.query(
          `INSERT INTO fx_rates (pair, as_of, rate) VALUES ('USD-PKR', '1984-05-01', 12.5)`,
        );
        const realizing = realize(payoutId, new Date('1984-05-02T10:00:00Z'));
        await advisoryLockAwaited(recording);
        await recording.commitTransaction();
        await realizing;
      } finally {
        await recording.release();
      }
      expect(await documents.get(e.partnerId, invoiceId)).toMatchObject({
        fx: { pair: 'USD-PKR', rate: '12.50', asOf: '1984-05-01' },
        pkrEquivalent: '14984.38',
      });
      // The signed status event writes the rate as the invoice does.
      const [event] = await db.query(
        `SELECT document FROM invoice_status_events WHERE invoice_id = $1 AND status = 'proceeds_realized'`,
        [invoiceId],
      );
      expect(JSON.parse(event.document).data.fx).toEqual({
        pair: 'USD-PKR',
        rate: '12.50',
        asOf: '1984-05-01',
      });
    });

    it('signs every status change as an event a notifier can read', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      await realize(payoutId, new Date('2026-11-22T00:00:00Z'));
      const events: Array<{ document: string; sha256: string; signature: string; partner_id: string }> =
        await db.query(`SELECT * FROM invoice_status_events WHERE invoice_id = $1 ORDER BY id`, [invoiceId]);
      expect(events).toHaveLength(2);
      const invoice = await row(invoiceId);
      for (const event of events) {
        expect(event.partner_id).toBe(e.partnerId);
        expect(event.sha256).toBe(sha256Hex(event.document));
        expect(verifyDigest(event.sha256, event.signature, createPublicKey(publicKeyPem))).toBe(true);
        expect(JSON.parse(event.document)).toMatchObject({ invoiceId, invoiceSha256: invoice.sha256 });
      }
      expect(JSON.parse(events[1].document)).toMatchObject({
        status: 'proceeds_realized',
        previousStatus: 'awaiting_proceeds',
        data: { netRealized: '1198.75', routingFees: '51.25' },
      });
    });
  });

  describe('database guards', () => {
    it('refuses to change the issued part, to refill the realization, or to delete', async () => {
      const e = await newExporter();
      const { invoiceId, payoutId } = await issue(e);
      await expect(db.query(`UPDATE invoices SET gross = 1.00 WHERE id = $1`, [invoiceId])).rejects.toThrow(
        /never changes/,
      );
      await expect(
        db.query(
          `UPDATE invoices SET issued_document = replace(issued_document, 'Acme', 'Acne') WHERE id = $1`,
          [invoiceId],
        ),
      ).rejects.toThrow(/never changes/);
      await realize(payoutId, new Date('2026-11-22T00:00:00Z'));
      await expect(
        db.query(`UPDATE invoices SET net_realized = 1249.00, routing_fees = 1.00 WHERE id = $1`, [
          invoiceId,
        ]),
      ).rejects.toThrow(/filled once/);
      await expect(db.query(`DELETE FROM invoices WHERE id = $1`, [invoiceId])).rejects.toThrow(
        /never deleted/,
      );
      await expect(
        db.query(`UPDATE invoice_status_events SET detail = 'x' WHERE invoice_id = $1`, [invoiceId]),
      ).rejects.toThrow(/append-only/);
    });

    it('refuses a stored hash that is not the hash of the stored document, and the code 9471', async () => {
      const e = await newExporter();
      const { invoiceId } = await issue(e);
      const original = await row(invoiceId);
      const payoutId = await insertPayout(db, e);
      const insert = (overrides: Record<string, unknown>) => {
        const r = {
          ...original,
          id: '00000000-0000-4000-8000-000000000001',
          payout_id: payoutId,
          seq: 99,
          number: 'INV-2026-000099',
          ...overrides,
        };
        return db.query(
          `INSERT INTO invoices (id, partner_id, freelancer_id, payout_id, year, seq, number, issued_at, currency, gross,
                                 purpose_code, issued_document, sha256, signature, export_status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'awaiting_proceeds')`,
          [
            r.id,
            r.partner_id,
            r.freelancer_id,
            r.payout_id,
            r.year,
            r.seq,
            r.number,
            r.issued_at,
            r.currency,
            r.gross,
            r.purpose_code,
            r.issued_document,
            r.sha256,
            r.signature,
          ],
        );
      };
      await expect(insert({ issued_document: `${original.issued_document} ` })).rejects.toThrow(
        /sha256_of_document/,
      );
      await expect(insert({ purpose_code: '9471' })).rejects.toThrow(/purpose_code/);
      await expect(insert({ number: 'INV-2026-99' })).rejects.toThrow(/number_format/);
    });
  });
});
