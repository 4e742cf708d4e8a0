import { randomUUID } from 'node:crypto';
import { MoneyDecimal } from '../src/money/money';
import { ConnectorRegistry } from '../src/payouts/connectors/connector-registry';
import { SandboxDelay } from '../src/payouts/connectors/sandbox/sandbox-delay';
import { SendRequest } from '../src/payouts/connectors/provider-connector';
import { bearer, ops, startApp, TestApp, unique } from './support/app';
import { MovableClock } from './support/movable-clock';
import { expectProblem } from './support/problem';

const PROVIDERS = ['upwork', 'payoneer', 'correspondent', 'wise', 'zindigi', 'sadapay'];

describe('sandbox providers (e2e)', () => {
  const clock = new MovableClock();
  let t: TestApp;

  const resetAll = async () => {
    for (const id of PROVIDERS) await t.http.delete(`/v1/ops/sandbox/providers/${id}`).set(ops).expect(200);
  };

  const sendRequest = (amount = '480.25'): SendRequest => ({
    idempotencyKey: unique('e2e-key'),
    payoutId: randomUUID(),
    attemptId: randomUUID(),
    routeId: 'zindigi-usd-wallet',
    amount: new MoneyDecimal(amount),
    currency: 'USD',
    beneficiary: {
      name: 'Ayesha Khan',
      iban: 'PK36SCBL0000001123456702',
      institution: 'Zindigi',
      accountKind: 'fintech_usd',
    },
  });

  // The contract's default is settlement within 2 s; a test run may configure it shorter.
  let DEFAULTS: Record<string, number>;

  beforeAll(async () => {
    t = await startApp({ SANDBOX_SEED: 'sandbox-e2e' }, { clock });
    DEFAULTS = {
      latencyMs: 0,
      settleAfterMs: t.config.sandbox.settleAfterMs,
      transientFailureRate: 0,
      permanentFailureRate: 0,
      timeoutRate: 0,
      returnRate: 0,
    };
    await resetAll();
  });

  afterAll(async () => {
    await resetAll();
    await t.close();
  });

  describe('settings', () => {
    it('starts every catalog provider on the happy path', async () => {
      const res = await t.http.get('/v1/ops/sandbox/providers').set(ops).expect(200);
      expect(res.body.data).toEqual(
        PROVIDERS.map((providerId) => ({ providerId, ...DEFAULTS, updatedAt: null })),
      );
    });

    it('takes the contract’s six settings and answers 200 with them', async () => {
      const body = {
        latencyMs: 120,
        settleAfterMs: 500,
        transientFailureRate: 0.1,
        permanentFailureRate: 0.02,
        timeoutRate: 0.05,
        returnRate: 0.01,
      };
      const res = await t.http.put('/v1/ops/sandbox/providers/payoneer').set(ops).send(body).expect(200);
      expect(res.body).toEqual({ providerId: 'payoneer', ...body, updatedAt: expect.any(String) });
      const list = await t.http.get('/v1/ops/sandbox/providers').set(ops).expect(200);
      expect(list.body.data.find((s: { providerId: string }) => s.providerId === 'payoneer')).toEqual(
        res.body,
      );
    });

    it('keeps the settings a partial body leaves out', async () => {
      await t.http
        .put('/v1/ops/sandbox/providers/wise')
        .set(ops)
        .send({ timeoutRate: 0.5, latencyMs: 10 })
        .expect(200);
      const res = await t.http
        .put('/v1/ops/sandbox/providers/wise')
        .set(ops)
        .send({ returnRate: 1 })
        .expect(200);
      expect(res.body).toEqual(
        expect.objectContaining({
          ...DEFAULTS,
          providerId: 'wise',
          timeoutRate: 0.5,
          latencyMs: 10,
          returnRate: 1,
        }),
      );
    });

    it('resets a provider to the defaults', async () => {
      await t.http
        .put('/v1/ops/sandbox/providers/sadapay')
        .set(ops)
        .send({ permanentFailureRate: 1 })
        .expect(200);
      const res = await t.http.delete('/v1/ops/sandbox/providers/sadapay').set(ops).expect(200);
      expect(res.body).toEqual({ providerId: 'sadapay', ...DEFAULTS, updatedAt: null });
    });

    it.each([
      ['latencyMs', -1],
      ['latencyMs', 1.5],
      ['latencyMs', 600_001],
      ['latencyMs', '100'],
      ['settleAfterMs', -5],
      ['settleAfterMs', 600_001],
      ['settleAfterMs', null],
      ['transientFailureRate', 1.01],
      ['transientFailureRate', '0.5'],
      ['permanentFailureRate', -0.1],
      ['permanentFailureRate', true],
      ['timeoutRate', 2],
      ['timeoutRate', null],
      ['returnRate', -1],
      ['returnRate', 'often'],
    ])('refuses %s = %j with 400 naming the field, and changes nothing', async (field, value) => {
      const before = await t.http.get('/v1/ops/sandbox/providers').set(ops).expect(200);
      const res = await t.http
        .put('/v1/ops/sandbox/providers/zindigi')
        .set(ops)
        .send({ latencyMs: 5, [field]: value });
      expectProblem(res, 400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining([field]));
      expect(new Set(res.body.errors.map((e: { field: string }) => e.field))).toEqual(new Set([field]));
      const after = await t.http.get('/v1/ops/sandbox/providers').set(ops).expect(200);
      expect(after.body).toEqual(before.body);
    });

    it('refuses a body that names no setting, changing nothing (not even the time of the last change)', async () => {
      const before = await t.http.get('/v1/ops/sandbox/providers').set(ops).expect(200);
      for (const body of [{}, null]) {
        const res = await t.http
          .put('/v1/ops/sandbox/providers/wise')
          .set(ops)
          .set('content-type', 'application/json')
          .send(JSON.stringify(body));
        expectProblem(res, 400);
        expect(res.body.errors).toEqual([{ field: 'body', message: 'name at least one setting to change' }]);
      }
      const after = await t.http.get('/v1/ops/sandbox/providers').set(ops).expect(200);
      expect(after.body).toEqual(before.body);
    });

    it('refuses unknown fields by name', async () => {
      const res = await t.http.put('/v1/ops/sandbox/providers/upwork').set(ops).send({ failureRate: 0.5 });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'failureRate' })]);
    });

    it('answers 404 for a provider outside the catalog', async () => {
      expectProblem(
        await t.http.put('/v1/ops/sandbox/providers/paypal').set(ops).send({ latencyMs: 1 }),
        404,
      );
      expectProblem(await t.http.delete('/v1/ops/sandbox/providers/paypal').set(ops), 404);
    });

    it('is for ops only', async () => {
      expectProblem(await t.http.get('/v1/ops/sandbox/providers'), 401);
      expectProblem(
        await t.http.put('/v1/ops/sandbox/providers/upwork').set(bearer('pk_not-ops')).send({ latencyMs: 1 }),
        401,
      );
      expectProblem(await t.http.get('/v1/ops/sandbox/transfers'), 401);
    });
  });

  describe('connectors', () => {
    it('moves the money once for a repeated send, shows it to ops, and settles within 2 s by default', async () => {
      const zindigi = t.app.get(ConnectorRegistry).get('zindigi');
      const request = sendRequest();
      const first = await zindigi.send(request);
      expect(first).toEqual({ kind: 'accepted', transferId: expect.any(String) });
      expect(await zindigi.send(request)).toEqual(first);

      const listed = await t.http
        .get(`/v1/ops/sandbox/transfers?payoutId=${request.payoutId}`)
        .set(ops)
        .expect(200);
      expect(listed.body).toEqual({
        data: [
          expect.objectContaining({
            id: first.kind === 'accepted' ? first.transferId : '',
            providerId: 'zindigi',
            idempotencyKey: request.idempotencyKey,
            amount: '480.25',
            currency: 'USD',
            state: 'processing',
            beneficiaryIban: 'PK36SCBL…6702',
          }),
        ],
        nextCursor: null,
      });

      const { settleAfterMs } = t.config.sandbox;
      expect(settleAfterMs).toBeLessThanOrEqual(2000);
      // Settlement falls due on the clock, and the stored times say when: no real waiting, no stopwatch.
      clock.advance(settleAfterMs);
      const acceptedAt = Date.parse(listed.body.data[0].acceptedAt);
      expect(await zindigi.getStatus(request.idempotencyKey)).toEqual({
        state: 'settled',
        transferId: listed.body.data[0].id,
        settledAt: new Date(acceptedAt + settleAfterMs),
      });
    });

    it('follows ops’ settings from the next send on', async () => {
      const upwork = t.app.get(ConnectorRegistry).get('upwork');
      await t.http
        .put('/v1/ops/sandbox/providers/upwork')
        .set(ops)
        .send({ permanentFailureRate: 1 })
        .expect(200);
      const rejected = sendRequest();
      expect((await upwork.send(rejected)).kind).toBe('permanent');
      await t.http
        .put('/v1/ops/sandbox/providers/upwork')
        .set(ops)
        .send({ permanentFailureRate: 0, latencyMs: 150, settleAfterMs: 0 })
        .expect(200);
      const slow = sendRequest();
      const waits = jest.spyOn(t.app.get(SandboxDelay), 'wait');
      try {
        expect((await upwork.send(slow)).kind).toBe('accepted');
        expect(waits.mock.calls.map(([ms]) => ms)).toEqual([150]);
      } finally {
        waits.mockRestore();
      }
      expect((await upwork.getStatus(slow.idempotencyKey)).state).toBe('settled');
      const listed = await t.http
        .get(`/v1/ops/sandbox/transfers?payoutId=${rejected.payoutId}`)
        .set(ops)
        .expect(200);
      expect(listed.body.data).toEqual([]);
    });

    it('pages the transfers list and names bad query fields', async () => {
      const correspondent = t.app.get(ConnectorRegistry).get('correspondent');
      for (let i = 0; i < 3; i += 1) await correspondent.send(sendRequest(`1${i}.00`));
      const page = await t.http
        .get('/v1/ops/sandbox/transfers?providerId=correspondent&limit=2')
        .set(ops)
        .expect(200);
      expect(page.body.data).toHaveLength(2);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      const rest = await t.http
        .get(`/v1/ops/sandbox/transfers?providerId=correspondent&limit=2&cursor=${page.body.nextCursor}`)
        .set(ops)
        .expect(200);
      expect(rest.body.data.length).toBeGreaterThanOrEqual(1);
      const res = await t.http.get('/v1/ops/sandbox/transfers?limit=0').set(ops);
      expectProblem(res, 400);
      expect(res.body.errors[0].field).toBe('limit');
    });
  });
});
