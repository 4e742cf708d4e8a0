import { createFreelancer, createPartner, startApp, TestApp, unique } from './support/app';
import {
  Connection,
  createConnection,
  payoutEvent,
  signStandard,
  signStripe,
  stripeEvent,
} from './support/webhooks';
import { expectProblem } from './support/problem';

/**
 * Numbers of a platform's event written as anything but an integer literal: refused wherever the contract wants a
 * string, and as Stripe cents. Posts exact bytes, since the point is how numbers are written.
 */
describe('webhook numbers that are not integer literals (e2e)', () => {
  let t: TestApp;
  let partner: { id: string; apiKey: string };
  let upwork: Connection;
  let stripe: Connection;
  let ref: string;

  beforeAll(async () => {
    t = await startApp({}, { role: 'api' });
    partner = await createPartner(t.http);
    upwork = await createConnection(t.http, partner.apiKey, 'upwork');
    stripe = await createConnection(t.http, partner.apiKey, 'stripe');
    ref = (await createFreelancer(t.http, partner.apiKey)).externalRef;
  });

  afterAll(async () => {
    await t.close();
  });

  const postStandard = (body: string) =>
    t.http
      .post(upwork.webhookUrl)
      .set(signStandard(upwork.signingSecret, unique('msg'), body))
      .send(body);
  const postStripe = (body: string) =>
    t.http.post(stripe.webhookUrl).set(signStripe(stripe.signingSecret, body)).send(body);
  const payoutsOf = (connection: Connection, platformPayoutId: string) =>
    t.db.query(`SELECT gross FROM payouts WHERE connection_id = $1 AND platform_payout_id = $2`, [
      connection.id,
      platformPayoutId,
    ]);

  it.each([
    ['data.amount', '"amount":"1250.00"', '"amount":1250.5'],
    ['data.amount', '"amount":"1250.00"', '"amount":1250.00'],
    ['data.payoutId', /"payoutId":"[^"]+"/, '"payoutId":12.5'],
    ['data.freelancerRef', /"freelancerRef":"[^"]+"/, '"freelancerRef":4.2'],
  ])(
    'refuses a standard-webhooks %s written as a JSON number (the contract wants strings), as it did before',
    async (field, from, to) => {
      const event = payoutEvent({ freelancerRef: ref });
      const body = JSON.stringify(event).replace(from, to);
      expect(body).toContain(to);
      const res = await postStandard(body);
      expectProblem(res, 422);
      expect((res.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain(field);
      expect(await payoutsOf(upwork, (event.data as { payoutId: string }).payoutId)).toEqual([]);
    },
  );

  it('refuses a Stripe amount that is not integer cents even when another field of the body nests deeply', async () => {
    const event = stripeEvent({}, { freelancer_ref: ref });
    const objectId = (event.data as { object: { id: string } }).object.id;
    // An unrelated field some thousands of levels deep, where a JSON.parse reviver would overflow the stack.
    const depth = 3000;
    const body = JSON.stringify({ ...event, extra: 'X' })
      .replace('"amount":125000', '"amount":125000.0000000000001')
      .replace('"X"', '['.repeat(depth) + ']'.repeat(depth));
    expect(body.length).toBeLessThan(256 * 1024);
    const res = await postStripe(body);
    expectProblem(res, 422);
    expect((res.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual([
      'data.object.amount',
    ]);
    expect(await payoutsOf(stripe, objectId)).toEqual([]);
  });
});
