import { MetricsService } from '../src/ops/metrics.service';
import { bearer, startApp, TestApp, unique } from './support/app';
import { expectProblem } from './support/problem';

/** OPS_TOKEN replaced: the previous one goes on working beside it while clients move over, and is counted. */
describe('OPS_TOKEN rotation (e2e)', () => {
  const newToken = 'the-new-ops-token-0123456789';
  const oldToken = 'the-old-ops-token-0123456789';
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ OPS_TOKEN: newToken, OPS_TOKEN_PREVIOUS: oldToken });
  });

  afterAll(async () => {
    await t.close();
  });

  const previousUses = async () =>
    (await t.app.get(MetricsService).registry.getSingleMetric('ops_previous_token_requests_total')!.get())
      .values[0].value;

  it('takes both tokens on ops endpoints and the queue dashboard, counting only the previous one', async () => {
    const counted = await previousUses();
    const created = await t.http
      .post('/v1/ops/partners')
      .set(bearer(newToken))
      .send({ name: unique('partner') })
      .expect(201);
    await t.http.get('/admin/queues').set(bearer(newToken)).expect(200);
    expect(await previousUses()).toBe(counted);

    await t.http.get(`/v1/ops/partners/${created.body.id}`).set(bearer(oldToken)).expect(200);
    await t.http.get('/admin/queues').set(bearer(oldToken)).expect(200);
    expect(await previousUses()).toBe(counted + 2);
  });

  it('refuses any other token, the development default among them, without counting it', async () => {
    const counted = await previousUses();
    for (const token of [
      'another-ops-token-0123456789',
      'dev-ops-token-change-me',
      `${oldToken}x`,
      oldToken.slice(1),
    ]) {
      expectProblem(await t.http.get('/v1/ops/partners').set(bearer(token)), 401);
      expectProblem(await t.http.get('/admin/queues').set(bearer(token)), 401);
    }
    expectProblem(await t.http.get('/v1/ops/partners'), 401);
    expect(await previousUses()).toBe(counted);
  });
});
