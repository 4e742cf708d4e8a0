import { XMLParser } from 'fast-xml-parser';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { canonicalJson } from '../src/common/canonical-json';
import { IssueInvoiceInput, InvoicesService } from '../src/invoices/invoices.service';
import { MoneyDecimal } from '../src/money/money';
import { bearer, createFreelancer, createPartner, ops, startApp, TestApp, unique } from './support/app';
import { pdfText } from './support/pdf-text';
import { issueInput } from './support/invoice-fixtures';
import { insertConnection, insertPayout } from './support/payout-rows';
import { RealizedMonthsRecomputed1763900026000 } from '../migrations/1763900026000-realized-months-recomputed';
import { expectProblem } from './support/problem';

const ISSUED_KEYS = [
  'id',
  'number',
  'issuedAt',
  'exporter',
  'client',
  'lines',
  'currency',
  'gross',
  'purposeCode',
  'payoutId',
];

/** Collects a binary body (PDF, XML) as a Buffer instead of letting supertest decode it. */
function binary(res: unknown, done: (error: Error | null, body: Buffer) => void): void {
  const stream = res as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}

describe('invoices (e2e)', () => {
  let t: TestApp;
  let invoices: InvoicesService;

  beforeAll(async () => {
    t = await startApp({ PUBLIC_BASE_URL: 'https://payouts.example.pk' });
    invoices = t.app.get(InvoicesService);
  });

  afterAll(async () => {
    await t.close();
  });

  interface Setup {
    partner: { id: string; apiKey: string };
    freelancerId: string;
    connectionId: string;
  }

  async function setup(freelancer: Record<string, unknown> = {}): Promise<Setup> {
    const partner = await createPartner(t.http);
    const fl = await createFreelancer(t.http, partner.apiKey, {
      ntn: '1234567-8',
      psebRegistrationNo: 'PSEB-F-12345',
      ...freelancer,
    });
    return { partner, freelancerId: fl.id, connectionId: await insertConnection(t.db, partner.id) };
  }

  async function issue(s: Setup, overrides: Partial<IssueInvoiceInput> = {}) {
    const payoutId = await insertPayout(t.db, {
      partnerId: s.partner.id,
      freelancerId: s.freelancerId,
      connectionId: s.connectionId,
    });
    const { invoiceId } = await t.db.transaction((tx) =>
      invoices.issueForPayout(
        tx,
        issueInput({ payoutId, partnerId: s.partner.id, freelancerId: s.freelancerId }, overrides),
      ),
    );
    return { payoutId, invoiceId };
  }

  function realize(payoutId: string, realizedAt = new Date('2026-11-22T06:30:00Z')) {
    return t.db.transaction((tx) =>
      invoices.markRealized(tx, {
        payoutId,
        realizedAt,
        route: { routeId: 'payoneer-usd-bank', provider: 'payoneer', rail: 'payoneer' },
        routingFees: new MoneyDecimal('51.25'),
        netRealized: new MoneyDecimal('1198.75'),
      }),
    );
  }

  describe('reading', () => {
    it('answers the invoice JSON with exactly the contract fields, scoped to the partner', async () => {
      const s = await setup();
      const { invoiceId, payoutId } = await issue(s);
      const res = await t.http.get(`/v1/invoices/${invoiceId}`).set(bearer(s.partner.apiKey)).expect(200);
      expect(res.body).toEqual({
        id: invoiceId,
        number: 'INV-2026-000001',
        issuedAt: '2026-11-21T10:00:00.000Z',
        exporter: {
          name: 'Ayesha Khan',
          cnic: '35202-1234567-1',
          ntn: '1234567-8',
          psebRegistrationNo: 'PSEB-F-12345',
        },
        client: { name: 'Acme Inc', country: 'US' },
        lines: [
          {
            description: 'Web development, milestone 3',
            serviceCategory: 'software_development',
            amount: '1250.00',
          },
        ],
        currency: 'USD',
        gross: '1250.00',
        routingFees: null,
        netRealized: null,
        purposeCode: '9186',
        fx: null,
        pkrEquivalent: null,
        esfcaRetained: null,
        realizedAt: null,
        exportStatus: 'awaiting_proceeds',
        statusHistory: [
          {
            status: 'awaiting_proceeds',
            at: '2026-11-21T10:00:00.000Z',
            detail: 'issued when the payout was routed',
          },
        ],
        payoutId,
        freelancerId: s.freelancerId,
        route: null,
        prc: null,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        signature: expect.any(String),
      });
    });

    it('lists a partner’s invoices by freelancer with cursors', async () => {
      const s = await setup();
      const other = await createFreelancer(t.http, s.partner.apiKey);
      const ids = [];
      for (let i = 0; i < 3; i += 1) ids.push((await issue(s)).invoiceId);
      await issue({ ...s, freelancerId: other.id });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { data: Array<{ id: string; number: string }>; nextCursor: string | null } } =
          await t.http
            .get(`/v1/invoices?freelancerId=${s.freelancerId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
            .set(bearer(s.partner.apiKey))
            .expect(200);
        seen.push(...res.body.data.map((i) => i.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen.sort()).toEqual([...ids].sort());
      const all = await t.http.get('/v1/invoices').set(bearer(s.partner.apiKey)).expect(200);
      expect(all.body.data).toHaveLength(4);
      const res = await t.http.get('/v1/invoices?freelancerId=nope').set(bearer(s.partner.apiKey));
      expectProblem(res, 400);
      expect(res.body.errors[0].field).toBe('freelancerId');
    });

    it('answers 404 for another partner’s invoice, in every rendering, and lists none of it', async () => {
      const s = await setup();
      const { invoiceId } = await issue(s);
      const other = await createPartner(t.http);
      for (const path of ['', '/pdf', '/ubl']) {
        expectProblem(await t.http.get(`/v1/invoices/${invoiceId}${path}`).set(bearer(other.apiKey)), 404);
      }
      expectProblem(
        await t.http
          .post(`/v1/invoices/${invoiceId}/prc`)
          .set(bearer(other.apiKey))
          .send({ prcNumber: 'PRC-1', issuedAt: '2026-11-23', bank: 'Meezan Bank' }),
        404,
      );
      const list = await t.http
        .get(`/v1/invoices?freelancerId=${s.freelancerId}`)
        .set(bearer(other.apiKey))
        .expect(200);
      expect(list.body.data).toEqual([]);
      expectProblem(await t.http.get('/v1/invoices/not-a-uuid').set(bearer(s.partner.apiKey)), 404);
      expectProblem(await t.http.get(`/v1/invoices/${invoiceId}`), 401);
    });
  });

  describe('signature', () => {
    it('verifies with Node crypto and the published key, and fails when one byte changes', async () => {
      const s = await setup();
      const { invoiceId } = await issue(s);
      const invoice = (
        await t.http.get(`/v1/invoices/${invoiceId}`).set(bearer(s.partner.apiKey)).expect(200)
      ).body;
      const published = await t.http.get('/v1/invoices/public-key').expect(200);
      const withKey = await t.http.get('/v1/invoices/public-key').set(bearer(s.partner.apiKey)).expect(200);
      expect(withKey.body).toEqual(published.body);
      const publicKey = createPublicKey(published.body.publicKeyPem);
      expect(publicKey.asymmetricKeyType).toBe('ed25519');

      const issued = Object.fromEntries(ISSUED_KEYS.map((k) => [k, invoice[k]]));
      const canonical = canonicalJson(issued);
      const digest = createHash('sha256').update(canonical, 'utf8').digest('hex');
      expect(digest).toBe(invoice.sha256);
      const signature = Buffer.from(invoice.signature, 'base64');
      expect(verify(null, Buffer.from(digest, 'utf8'), publicKey, signature)).toBe(true);

      const bytes = Buffer.from(canonical, 'utf8');
      bytes[bytes.indexOf('1250.00')] ^= 0x01;
      const tampered = createHash('sha256').update(bytes).digest('hex');
      expect(verify(null, Buffer.from(tampered, 'utf8'), publicKey, signature)).toBe(false);
    });

    it('keeps the issued part and its signature unchanged through realization and the e-PRC', async () => {
      const s = await setup();
      const { invoiceId, payoutId } = await issue(s);
      const before = (await t.http.get(`/v1/invoices/${invoiceId}`).set(bearer(s.partner.apiKey))).body;
      await realize(payoutId);
      await t.http
        .post(`/v1/invoices/${invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .send({ prcNumber: unique('PRC'), issuedAt: '2026-11-23', bank: 'Meezan Bank' })
        .expect(200);
      const after = (await t.http.get(`/v1/invoices/${invoiceId}`).set(bearer(s.partner.apiKey))).body;
      for (const key of [...ISSUED_KEYS, 'sha256', 'signature']) expect(after[key]).toEqual(before[key]);
      expect(after.exportStatus).toBe('prc_issued');
    });
  });

  describe('public verification', () => {
    it('answers only what a bank needs, without a credential', async () => {
      const s = await setup();
      const { invoiceId } = await issue(s);
      const invoice = (await t.http.get(`/v1/invoices/${invoiceId}`).set(bearer(s.partner.apiKey))).body;
      const res = await t.http.get(`/v1/public/invoices/${invoiceId}/verify`).expect(200);
      expect(res.body).toEqual({
        number: invoice.number,
        issuedAt: invoice.issuedAt,
        currency: 'USD',
        gross: '1250.00',
        exportStatus: 'awaiting_proceeds',
        sha256: invoice.sha256,
        signature: invoice.signature,
      });
      expectProblem(await t.http.get('/v1/public/invoices/00000000-0000-4000-8000-000000000000/verify'), 404);
      expectProblem(await t.http.get('/v1/public/invoices/INV-2026-000001/verify'), 404);
    });
  });

  describe('export status over HTTP', () => {
    it('shows the realization with the ops USD-PKR rate, then records the e-PRC once', async () => {
      await t.http
        .put('/v1/ops/fx-rates/USD-PKR')
        .set(ops)
        .send({ rate: '278.45', asOf: '2003-07-01' })
        .expect(200);
      const s = await setup();
      const { invoiceId, payoutId } = await issue(s);
      const prc = { prcNumber: unique('PRC'), issuedAt: '2003-07-03', bank: 'Meezan Bank' };
      const early = await t.http
        .post(`/v1/invoices/${invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .send(prc);
      expectProblem(early, 409);

      await realize(payoutId, new Date('2003-07-02T08:00:00Z'));
      const realized = (
        await t.http.get(`/v1/invoices/${invoiceId}`).set(bearer(s.partner.apiKey)).expect(200)
      ).body;
      expect(realized).toMatchObject({
        exportStatus: 'proceeds_realized',
        routingFees: '51.25',
        netRealized: '1198.75',
        fx: { pair: 'USD-PKR', rate: '278.45', asOf: '2003-07-01' },
        pkrEquivalent: '333791.94',
        esfcaRetained: '1198.75',
        route: { routeId: 'payoneer-usd-bank', provider: 'payoneer', rail: 'payoneer' },
      });

      const recorded = await t.http
        .post(`/v1/invoices/${invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .send(prc)
        .expect(200);
      expect(recorded.body).toMatchObject({
        id: invoiceId,
        exportStatus: 'prc_issued',
        prc: { prcNumber: prc.prcNumber, issuedAt: '2003-07-03T00:00:00.000Z', bank: 'Meezan Bank' },
      });
      expect(recorded.body.statusHistory.map((h: { status: string }) => h.status)).toEqual([
        'awaiting_proceeds',
        'proceeds_realized',
        'prc_issued',
      ]);

      const again = await t.http
        .post(`/v1/invoices/${invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .send(prc)
        .expect(200);
      expect(again.body).toEqual(recorded.body);
      const different = await t.http
        .post(`/v1/invoices/${invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .send({ ...prc, prcNumber: unique('PRC') });
      expectProblem(different, 409);
    });

    it('refuses an e-PRC for failed proceeds', async () => {
      const s = await setup();
      const { invoiceId, payoutId } = await issue(s);
      await t.db.transaction((tx) =>
        invoices.markFailed(tx, { payoutId, at: new Date(), reason: 'every route failed' }),
      );
      const res = await t.http
        .post(`/v1/invoices/${invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .send({ prcNumber: 'PRC-1', issuedAt: '2026-11-23', bank: 'Meezan Bank' });
      expectProblem(res, 409);
      const invoice = (await t.http.get(`/v1/invoices/${invoiceId}`).set(bearer(s.partner.apiKey))).body;
      expect(invoice.exportStatus).toBe('proceeds_failed');
      expect(invoice.statusHistory[1]).toEqual({
        status: 'proceeds_failed',
        at: expect.any(String),
        detail: 'every route failed',
      });
    });

    it.each([
      ['prcNumber', { prcNumber: '' }],
      ['prcNumber', { prcNumber: '  ' }],
      ['issuedAt', { issuedAt: '23/11/2026' }],
      ['issuedAt', { issuedAt: '2099-01-01' }],
      // Before the day the proceeds were realized (2026-11-22 in Pakistan): no bank certifies money it has not had.
      ['issuedAt', { issuedAt: '2026-11-21' }],
      ['issuedAt', { issuedAt: '2026-11-21T23:59:00+05:00' }],
      // ISO-8601 forms a JavaScript Date cannot read: refused, not a 500.
      ['issuedAt', { issuedAt: '2026-W48-1' }],
      ['issuedAt', { issuedAt: '2026-11-20T10Z' }],
      ['issuedAt', { issuedAt: '2026-02-30' }],
      // No clock is more than 14 hours from UTC.
      ['issuedAt', { issuedAt: '2026-11-23T10:00:00+14:30' }],
      ['issuedAt', { issuedAt: '2026-11-23T10:00:00+23:59' }],
      ['bank', { bank: '' }],
      ['bank', { bank: '\t ' }],
      // Control characters: the UBL would carry U+FFFD and the PDF "?" where the JSON holds them.
      ['bank', { bank: 'Meezan\u0007Bank' }],
      ['prcNumber', { prcNumber: 'PRC-\u001b[2J1' }],
      ['extra', { extra: 'x' }],
    ])('names the bad e-PRC field %s and changes nothing', async (field, override) => {
      const s = await setup();
      const { invoiceId, payoutId } = await issue(s);
      await realize(payoutId);
      const res = await t.http
        .post(`/v1/invoices/${invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .send({ prcNumber: 'PRC-1', issuedAt: '2026-11-23', bank: 'Meezan Bank', ...override });
      expectProblem(res, 400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
      const invoice = (await t.http.get(`/v1/invoices/${invoiceId}`).set(bearer(s.partner.apiKey))).body;
      expect(invoice.exportStatus).toBe('proceeds_realized');
    });

    it('replays the e-PRC answer for the same Idempotency-Key', async () => {
      const s = await setup();
      const { invoiceId, payoutId } = await issue(s);
      await realize(payoutId);
      const body = { prcNumber: unique('PRC'), issuedAt: '2026-11-23T09:15:00Z', bank: 'HBL' };
      const key = unique('idem');
      const first = await t.http
        .post(`/v1/invoices/${invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .set('Idempotency-Key', key)
        .send(body)
        .expect(200);
      const replay = await t.http
        .post(`/v1/invoices/${invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .set('Idempotency-Key', key)
        .send(body)
        .expect(200);
      expect(replay.body).toEqual(first.body);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect([first.headers['idempotency-key'], replay.headers['idempotency-key']]).toEqual([key, key]);
    });
  });

  describe('ESFCA retention', () => {
    it('counts the month: realizations of one freelancer share its USD 5,000 floor, even at once', async () => {
      const s = await setup();
      const issued = [];
      for (let i = 0; i < 6; i++) issued.push(await issue(s));
      const november = new Date('2026-11-22T06:30:00Z');
      // Five at once in November (5 × 1,198.75 = 5,993.75, under twice the floor), one in December.
      await Promise.all(issued.slice(0, 5).map(({ payoutId }) => realize(payoutId, november)));
      await realize(issued[5].payoutId, new Date('2026-12-05T06:30:00Z'));
      const kept = async (invoiceId: string) =>
        (await t.http.get(`/v1/invoices/${invoiceId}`).set(bearer(s.partner.apiKey)).expect(200)).body
          .esfcaRetained as string;
      const inNovember = await Promise.all(issued.slice(0, 5).map(({ invoiceId }) => kept(invoiceId)));
      expect([...inNovember].sort()).toEqual(['1198.75', '1198.75', '1198.75', '1198.75', '205.00']);
      expect(await kept(issued[5].invoiceId)).toBe('1198.75');

      // Proceeds a provider took back no longer count: the next share is figured on the four that stayed.
      const returned = issued[inNovember.indexOf('205.00')];
      await t.db.transaction((tx) =>
        invoices.markReturned(tx, { payoutId: returned.payoutId, at: november, reason: 'account closed' }),
      );
      const late = await issue(s);
      await realize(late.payoutId, new Date('2026-11-28T06:30:00Z'));
      expect(await kept(late.invoiceId)).toBe('205.00');
    });
  });

  describe('ESFCA running totals made before they were kept', () => {
    it('are set to what the month’s invoices say, returned proceeds left out', async () => {
      const s = await setup();
      const issued = [await issue(s), await issue(s), await issue(s)];
      for (const { payoutId } of issued) await realize(payoutId, new Date('2031-03-10T06:30:00Z'));
      await t.db.transaction((tx) =>
        invoices.markReturned(tx, { payoutId: issued[2].payoutId, at: new Date(), reason: 'R03' }),
      );
      // 21:00 UTC on 31 March is 1 April in Pakistan: April's.
      const april = await issue(s);
      await realize(april.payoutId, new Date('2031-03-31T21:00:00Z'));
      // As a month realized before the running total existed: its row missing, or short.
      await t.db.query(
        `DELETE FROM invoice_realized_months WHERE freelancer_id = $1 AND month = '2031-04-01'`,
        [s.freelancerId],
      );
      await t.db.query(
        `UPDATE invoice_realized_months SET realized = 1.00 WHERE freelancer_id = $1 AND month = '2031-03-01'`,
        [s.freelancerId],
      );
      const months = () =>
        t.db.query(
          `SELECT month::text, realized::text FROM invoice_realized_months WHERE freelancer_id = $1 ORDER BY month`,
          [s.freelancerId],
        );
      const runner = t.db.createQueryRunner();
      try {
        for (let run = 0; run < 2; run++) {
          await runner.startTransaction();
          await new RealizedMonthsRecomputed1763900026000().up(runner);
          await runner.commitTransaction();
          expect(await months()).toEqual([
            { month: '2031-03-01', realized: '2397.50' },
            { month: '2031-04-01', realized: '1198.75' },
          ]);
        }
      } finally {
        await runner.release();
      }
    });
  });

  describe('tax year statement', () => {
    it('totals the proceeds realized in a Pakistani tax year, at each invoice’s withholding rate', async () => {
      await t.http
        .put('/v1/ops/fx-rates/USD-PKR')
        .set(ops)
        .send({ rate: '280.00', asOf: '2012-06-20' })
        .expect(200);
      const s = await setup();
      const issuedAt = new Date('2012-06-25T00:00:00Z');
      const unregistered = {
        name: 'Ayesha Khan',
        cnic: '35202-1234567-1',
        ntn: null,
        psebRegistrationNo: null,
      };
      const june = await issue(s, { issuedAt });
      const july = await issue(s, { issuedAt });
      const design = await issue(s, { issuedAt, exporter: unregistered, serviceCategory: 'graphic_design' });
      const sentBack = await issue(s, { issuedAt });
      await issue(s, { issuedAt });
      // 18:59:59 UTC on 30 June is still tax year 2012 in Pakistan; a second later it is 1 July there.
      await realize(june.payoutId, new Date('2012-06-30T18:59:59Z'));
      await realize(july.payoutId, new Date('2012-06-30T19:00:00Z'));
      await realize(design.payoutId, new Date('2013-01-10T08:00:00Z'));
      await realize(sentBack.payoutId, new Date('2013-03-01T08:00:00Z'));
      await t.db.transaction((tx) =>
        invoices.markReturned(tx, {
          payoutId: sentBack.payoutId,
          at: new Date('2013-03-05T08:00:00Z'),
          reason: 'R03',
        }),
      );
      await t.http
        .post(`/v1/invoices/${design.invoiceId}/prc`)
        .set(bearer(s.partner.apiKey))
        .send({ prcNumber: 'PRC-2013-1', issuedAt: '2013-01-15', bank: 'Meezan Bank' })
        .expect(200);

      const res = await t.http
        .get(`/v1/freelancers/${s.freelancerId}/tax-years/2013`)
        .set(bearer(s.partner.apiKey))
        .expect(200);
      // 0.25% of 1198.75 is 2.996875 (3.00), 1% is 11.9875 (11.99); in PKR 839.125 (839.13) and 3356.50.
      const registered = {
        invoices: 1,
        gross: '1250.00',
        routingFees: '51.25',
        netRealized: '1198.75',
        pkrEquivalent: '335650.00',
        withholdingUsd: '3.00',
        withholdingPkr: '839.13',
        esfcaRetained: '1198.75',
      };
      expect(res.body).toEqual({
        freelancerId: s.freelancerId,
        taxYear: 2013,
        from: '2012-07-01',
        to: '2013-06-30',
        currency: 'USD',
        totals: {
          invoices: 2,
          gross: '2500.00',
          routingFees: '102.50',
          netRealized: '2397.50',
          pkrEquivalent: '671300.00',
          withholdingUsd: '14.99',
          withholdingPkr: '4195.63',
          esfcaRetained: '2397.50',
        },
        byPurposeCode: [
          { purposeCode: '9186', ...registered },
          {
            purposeCode: '9249',
            ...registered,
            withholdingUsd: '11.99',
            withholdingPkr: '3356.50',
          },
        ],
        withoutFxRate: 0,
        awaitingPrc: 1,
        returned: { invoices: 1, netRealized: '1198.75' },
        lines: [july, design, sentBack].map(({ invoiceId }) => expect.objectContaining({ invoiceId })),
      });
      expect(res.body.lines).toEqual([
        expect.objectContaining({
          realizedOn: '2012-07-01',
          exportStatus: 'proceeds_realized',
          purposeCode: '9186',
          netRealized: '1198.75',
          fxRate: '280.00',
          pkrEquivalent: '335650.00',
          withholdingRatePercent: '0.25',
          prcNumber: null,
        }),
        expect.objectContaining({
          realizedOn: '2013-01-10',
          exportStatus: 'prc_issued',
          purposeCode: '9249',
          withholdingRatePercent: '1',
          prcNumber: 'PRC-2013-1',
        }),
        expect.objectContaining({ realizedOn: '2013-03-01', exportStatus: 'proceeds_failed' }),
      ]);
      expect(res.body.lines.map((l: { number: string }) => l.number)).toEqual(
        res.body.lines.map((l: { number: string }) => l.number).sort(),
      );

      const before = await t.http
        .get(`/v1/freelancers/${s.freelancerId}/tax-years/2012`)
        .set(bearer(s.partner.apiKey))
        .expect(200);
      expect(before.body.lines.map((l: { invoiceId: string }) => l.invoiceId)).toEqual([june.invoiceId]);
      expect(before.body.totals).toMatchObject({ invoices: 1, netRealized: '1198.75' });
    });

    it('answers 404 for another partner’s freelancer and 400 naming taxYear for a year that is not one', async () => {
      const s = await setup();
      const other = await createPartner(t.http);
      expectProblem(
        await t.http.get(`/v1/freelancers/${s.freelancerId}/tax-years/2027`).set(bearer(other.apiKey)),
        404,
      );
      const empty = await t.http
        .get(`/v1/freelancers/${s.freelancerId}/tax-years/2027`)
        .set(bearer(s.partner.apiKey))
        .expect(200);
      expect(empty.body).toMatchObject({
        totals: { invoices: 0, netRealized: '0.00', withholdingPkr: '0.00' },
        byPurposeCode: [],
        lines: [],
      });
      for (const year of ['1999', '2101', '20270', '2027.0', 'abcd', '-2027']) {
        const res = await t.http
          .get(`/v1/freelancers/${s.freelancerId}/tax-years/${year}`)
          .set(bearer(s.partner.apiKey));
        expectProblem(res, 400);
        expect(res.body.errors).toEqual([expect.objectContaining({ field: 'taxYear' })]);
      }
    });
  });

  describe('FX rates', () => {
    it('upserts one rate per day for ops only', async () => {
      const put = (body: object) => t.http.put('/v1/ops/fx-rates/USD-PKR').set(ops).send(body);
      expect((await put({ rate: '280.123456', asOf: '2004-02-29' }).expect(200)).body).toEqual({
        pair: 'USD-PKR',
        rate: '280.123456',
        asOf: '2004-02-29',
      });
      expect((await put({ rate: '281.5', asOf: '2004-02-29' }).expect(200)).body.rate).toBe('281.50');
      const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM fx_rates WHERE as_of = '2004-02-29'`);
      expect(n).toBe(1);
      expectProblem(
        await t.http.put('/v1/ops/fx-rates/USD-PKR').send({ rate: '1.00', asOf: '2004-03-01' }),
        401,
      );
      expectProblem(
        await t.http.put('/v1/ops/fx-rates/EUR-PKR').set(ops).send({ rate: '1.00', asOf: '2004-03-01' }),
        404,
      );
    });

    it.each([
      ['rate', { rate: '0' }],
      ['rate', { rate: '0.000000' }],
      ['rate', { rate: '-278.45' }],
      ['rate', { rate: '278.4512345' }],
      ['rate', { rate: 278.45 }],
      ['rate', { rate: '1e3' }],
      ['rate', { rate: '0.278' }],
      ['rate', { rate: '27845.00' }],
      ['asOf', { asOf: '2099-01-01' }],
      ['asOf', { asOf: '2026-02-30' }],
      ['asOf', { asOf: '21-11-2026' }],
      ['asOf', { asOf: '2026-11-21T00:00:00Z' }],
    ])('names the bad field %s (%j) and stores nothing', async (field, override) => {
      const res = await t.http
        .put('/v1/ops/fx-rates/USD-PKR')
        .set(ops)
        .send({ rate: '278.45', asOf: '2005-01-01', ...override });
      expectProblem(res, 400);
      expect([...new Set(res.body.errors.map((e: { field: string }) => e.field))]).toEqual([field]);
      const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM fx_rates WHERE as_of = '2005-01-01'`);
      expect(n).toBe(0);
    });
  });

  describe('renderings', () => {
    it('serves a PDF a person can read: number, parties in their own letters, amounts, status and the verification URL', async () => {
      await t.http
        .put('/v1/ops/fx-rates/USD-PKR')
        .set(ops)
        .send({ rate: '278.45', asOf: '2006-05-01' })
        .expect(200);
      const s = await setup();
      const { invoiceId, payoutId } = await issue(s, {
        client: { name: 'Łódź Software Sp. z o.o.', country: 'PL' },
      });
      await realize(payoutId, new Date('2006-05-02T00:00:00Z'));
      const res = await t.http
        .get(`/v1/invoices/${invoiceId}/pdf`)
        .set(bearer(s.partner.apiKey))
        .buffer(true)
        .parse(binary)
        .expect(200);
      expect(res.headers['content-type']).toBe('application/pdf');
      const text = await pdfText(res.body as Buffer);
      for (const expected of [
        'INV-2026-000001',
        'Ayesha Khan',
        'Łódź Software Sp. z o.o.',
        '1,250.00',
        'USD 51.25',
        'USD 1,198.75',
        'PKR 333,791.94',
        '9186',
        'Export status: Proceeds realized',
        `https://payouts.example.pk/v1/public/invoices/${invoiceId}/verify`,
      ]) {
        expect(text).toContain(expected);
      }
    });

    it('serves UBL 2.1 XML with the required elements and totals', async () => {
      const s = await setup();
      const { invoiceId } = await issue(s, {
        gross: new MoneyDecimal('99.50'),
        serviceCategory: 'graphic_design',
      });
      const res = await t.http
        .get(`/v1/invoices/${invoiceId}/ubl`)
        .set(bearer(s.partner.apiKey))
        .buffer(true)
        .parse(binary)
        .expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/xml/);
      const doc = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(
        (res.body as Buffer).toString('utf8'),
      ).Invoice;
      expect(doc['cbc:ID']).toBe('INV-2026-000001');
      expect(doc['cbc:IssueDate']).toBe('2026-11-21');
      expect(doc['cac:AccountingSupplierParty']['cac:Party']['cac:PartyName']['cbc:Name']).toBe(
        'Ayesha Khan',
      );
      expect(doc['cac:AccountingCustomerParty']['cac:Party']['cac:PartyName']['cbc:Name']).toBe('Acme Inc');
      expect(doc['cac:LegalMonetaryTotal']['cbc:PayableAmount']['#text']).toBe('99.50');
      expect(doc['cac:InvoiceLine']['cbc:LineExtensionAmount']['#text']).toBe('99.50');
      expect(doc['cac:InvoiceLine']['cbc:PaymentPurposeCode']).toBe('9249');
      expect(doc['cac:TaxTotal']['cbc:TaxAmount']['#text']).toBe('0.00');
    });

    it('documents every invoice endpoint in the OpenAPI document', async () => {
      const paths = Object.keys((await t.http.get('/docs-json').expect(200)).body.paths);
      for (const path of [
        '/v1/invoices',
        '/v1/invoices/{id}',
        '/v1/invoices/{id}/pdf',
        '/v1/invoices/{id}/ubl',
        '/v1/invoices/{id}/prc',
        '/v1/invoices/public-key',
        '/v1/public/invoices/{id}/verify',
        '/v1/ops/fx-rates/USD-PKR',
        '/v1/freelancers/{id}/tax-years/{taxYear}',
      ]) {
        expect(paths).toContain(path);
      }
    });
  });
});

describe('public invoice endpoints under load (e2e)', () => {
  const verify = (app: TestApp, forwardedFor: string) =>
    app.http
      .get('/v1/public/invoices/00000000-0000-4000-8000-000000000000/verify')
      .set('X-Forwarded-For', forwardedFor);

  it('answers 429 with Retry-After past the per-client limit, whatever X-Forwarded-For a client makes up', async () => {
    const t = await startApp({ PUBLIC_RATE_LIMIT_PER_SECOND: '2' });
    try {
      const flood = await Promise.all(Array.from({ length: 10 }, (_, i) => verify(t, `203.0.113.${i}`)));
      const limited = flood.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      expectProblem(limited[0], 429);
      expect(limited[0].headers['retry-after']).toBe('1');
      expect(flood.filter((r) => r.status === 404).length).toBeLessThanOrEqual(4);
    } finally {
      await t.close();
    }
  });

  it('counts each forwarded client apart behind a trusted proxy (TRUST_PROXY)', async () => {
    const t = await startApp({ PUBLIC_RATE_LIMIT_PER_SECOND: '2', TRUST_PROXY: 'loopback' });
    try {
      const flood = await Promise.all(Array.from({ length: 10 }, () => verify(t, '203.0.113.7')));
      expect(flood.some((r) => r.status === 429)).toBe(true);
      expectProblem(await verify(t, '198.51.100.9'), 404);
    } finally {
      await t.close();
    }
  });
});
