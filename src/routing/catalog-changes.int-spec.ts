import { MovableClock } from '../../test/support/movable-clock';
import { bearer, createPartner, ops, startApp, TestApp } from '../../test/support/app';
import { CatalogService } from './catalog.service';
import { QUOTE_STALENESS_MS, RoutingService } from './routing.service';

/** Fee changes through ops: the quote cache of the replica that made one, concurrent changes, and tie-breaks. */
describe('catalog changes and quotes', () => {
  const clock = new MovableClock();
  let t: TestApp;
  let sut: RoutingService;
  let catalog: CatalogService;
  let partner: { apiKey: string };

  beforeAll(async () => {
    t = await startApp({}, { clock });
    sut = t.app.get(RoutingService);
    catalog = t.app.get(CatalogService);
    partner = await createPartner(t.http);
  });
  afterAll(async () => {
    await t.close();
  });

  const request = {
    platform: 'upwork',
    amount: '1600.00',
    currency: 'USD',
    accountKind: 'bank_fcy',
  } as const;
  const current = async (id: string) => (await catalog.listRoutes()).find((r) => r.id === id)!;

  it('a quote asked on this replica after its PATCH answered uses the new fee version', async () => {
    const route = 'upwork-payoneer-usd';
    const before = await current(route);
    expect((await sut.quote(request)).chosen).toBe(route); // 1600: payoneer 1550.00 (eta 96) ties wire 1550.00
    clock.advance(QUOTE_STALENESS_MS); // the copy is due for its check
    // Another replica changed something meanwhile (a provider switch, say): this copy must be reloaded.
    await t.db.query(`UPDATE routing_catalog_state SET version = version + 1`);

    // A quote already under way when the change commits: it read the routes before the commit.
    let versionRead!: () => void;
    const read = new Promise<void>((resolve) => (versionRead = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const real = t.db.query.bind(t.db);
    let armed = true;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const spy = jest.spyOn(t.db, 'query').mockImplementation(async (sql: string, params?: any) => {
      const result = await real(sql, params);
      if (armed && /FROM routes r/.test(sql)) {
        armed = false;
        versionRead();
        await gate;
      }
      return result;
    });
    try {
      const early = sut.quote(request);
      await read;
      const changed = await catalog.updateRoute(route, { percentFee: '4.00' }); // ops' PATCH answers 200
      expect(changed.feeVersion).toBe(before.feeVersion + 1);
      const late = sut.quote(request); // asked after the change answered
      release();
      await early;
      const answer = await late;
      expect(answer.quotes.find((q) => q.routeId === route)?.feeVersion).toBe(before.feeVersion + 1);
      expect(answer.chosen).toBe('upwork-wire-usd');
    } finally {
      release();
      spy.mockRestore();
      await catalog.updateRoute(route, { percentFee: before.percentFee });
    }
  });

  it('concurrent PATCHes of one route make consecutive versions and never a 500', async () => {
    const route = 'fiverr-payoneer-swift-usd';
    const before = await current(route);
    const mixedIds = ['upwork-wire-usd', 'direct-swift-usd', 'payoneer-balance-usd', 'fiverr-payoneer-usd'];
    const etas = await Promise.all(mixedIds.map(async (id) => [id, (await current(id)).etaHours] as const));
    try {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          t.http
            .patch(`/v1/ops/routes/${route}`)
            .set(ops)
            .send({ fixedFee: `${i + 1}.00` }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      const versions = answers.map((a) => a.body.feeVersion).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: 10 }, (_, i) => before.feeVersion + 1 + i));
      const last = answers.find((a) => a.body.feeVersion === versions[9])!;
      expect((await current(route)).fixedFee).toBe(last.body.fixedFee);

      // Crossing changes of floor and cap: one wins, the other is refused as inconsistent, none is a 500.
      const zindigi = await current('zindigi-usd-wallet');
      const [floor, cap] = await Promise.all([
        t.http.patch('/v1/ops/routes/zindigi-usd-wallet').set(ops).send({ percentMin: '20.00' }),
        t.http.patch('/v1/ops/routes/zindigi-usd-wallet').set(ops).send({ percentMax: '10.00' }),
      ]);
      expect([floor.status, cap.status].sort()).toEqual([200, 422]);
      await t.http
        .patch('/v1/ops/routes/zindigi-usd-wallet')
        .set(ops)
        .send({ percentMin: zindigi.percentMin, percentMax: zindigi.percentMax })
        .expect(200);

      // Changes of several routes and provider switches at once: no deadlock.
      const mixed = await Promise.all([
        ...mixedIds.map((id) => t.http.patch(`/v1/ops/routes/${id}`).set(ops).send({ etaHours: 100 })),
        t.http.post('/v1/ops/providers/payoneer/disable').set(ops),
        t.http.post('/v1/ops/providers/payoneer/enable').set(ops),
      ]);
      expect(mixed.map((a) => a.status)).toEqual(Array(6).fill(200));
    } finally {
      await t.http.post('/v1/ops/providers/payoneer/enable').set(ops);
      await t.http.patch(`/v1/ops/routes/${route}`).set(ops).send({ fixedFee: before.fixedFee });
      for (const [id, eta] of etas)
        await t.http.patch(`/v1/ops/routes/${id}`).set(ops).send({ etaHours: eta });
    }
  });

  it('breaks a tie of net and etaHours by the lower route id', async () => {
    const wire = await current('upwork-wire-usd');
    const payoneer = await current('upwork-payoneer-usd');
    const same = {
      fixedFee: '1.00',
      percentFee: '1.00',
      percentMin: null,
      percentMax: null,
      fxSpreadBps: 25,
      intermediaryFee: '0.50',
      etaHours: 50,
    };
    try {
      for (const id of ['upwork-wire-usd', 'upwork-payoneer-usd'])
        await t.http.patch(`/v1/ops/routes/${id}`).set(ops).send(same).expect(200);
      const res = await t.http
        .post('/v1/quotes')
        .set(bearer(partner.apiKey))
        .send({ ...request, amount: '1000.00' })
        .expect(200);
      expect(res.body.quotes.map((q: { routeId: string; net: string }) => [q.routeId, q.net])).toEqual([
        ['upwork-payoneer-usd', '986.00'],
        ['upwork-wire-usd', '986.00'],
      ]);
      expect(res.body.chosen).toBe('upwork-payoneer-usd');
    } finally {
      for (const r of [wire, payoneer])
        await t.http
          .patch(`/v1/ops/routes/${r.id}`)
          .set(ops)
          .send({
            fixedFee: r.fixedFee,
            percentFee: r.percentFee,
            percentMin: r.percentMin,
            percentMax: r.percentMax,
            fxSpreadBps: r.fxSpreadBps,
            intermediaryFee: r.intermediaryFee,
            etaHours: r.etaHours,
          })
          .expect(200);
    }
  });
});
