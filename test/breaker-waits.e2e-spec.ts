import { ProviderHealthService } from '../src/routing/provider-health.service';
import { createFreelancer, createPartner, ops, startApp, TestApp, waitFor } from './support/app';
import { announcePayout, Connection, createConnection } from './support/webhooks';
import { Payout, payoutWhen as payoutAt, transferProviders } from './support/payouts';

const THRESHOLD = 2;
const COOLDOWN_MS = 4_000;
const PROVIDERS = ['upwork', 'payoneer', 'correspondent', 'wise', 'zindigi', 'sadapay'];

/** Open circuit breakers pass: a payout they alone stand in the way of waits for the cool-down, it never fails. */
describe('payouts and open circuit breakers (e2e, workers in process)', () => {
  let t: TestApp;
  let partner: { id: string; apiKey: string };
  let connection: Connection;
  let health: ProviderHealthService;

  beforeAll(async () => {
    t = await startApp(
      {
        SANDBOX_SETTLE_AFTER_MS: '50',
        BREAKER_FAILURE_THRESHOLD: String(THRESHOLD),
        BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
        SEND_TIMEOUT_MS: '1000',
      },
      { role: 'all' },
    );
    health = t.app.get(ProviderHealthService);
    partner = await createPartner(t.http);
    connection = await createConnection(t.http, partner.apiKey, 'upwork');
  });

  afterEach(async () => {
    // Every provider back on, its breaker closed, its sandbox on the happy path, for the other suites of the run.
    for (const id of PROVIDERS) {
      await t.http.post(`/v1/ops/providers/${id}/enable`).set(ops).expect(200);
      await t.http
        .put(`/v1/ops/sandbox/providers/${id}`)
        .set(ops)
        .send({ transientFailureRate: 0, latencyMs: 0 })
        .expect(200);
    }
  });

  afterAll(async () => {
    await t.close();
  });

  async function trip(provider: string): Promise<void> {
    for (let i = 0; i < THRESHOLD; i++) await health.recordFailure(provider);
    expect(await health.availability(provider)).toBe('unhealthy');
  }

  function payoutWhen(id: string, statuses: string[]): Promise<Payout> {
    return payoutAt(t, partner.apiKey, id, statuses, 20_000);
  }

  it('keeps a payout received while every route that could carry it has an open breaker, then routes it', async () => {
    await trip('payoneer');
    await trip('upwork');
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');

    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.timeline.map((s) => s.status)).toEqual(['received', 'routed', 'sending', 'settled']);
    // It was routed only once the breakers let traffic through again, a cool-down after they opened.
    const [received, routed] = payout.timeline.map((s) => Date.parse(s.at));
    expect(routed - received).toBeGreaterThanOrEqual(COOLDOWN_MS / 2);
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^payout_waits_total\{step="route",reason="breaker_open"\} [1-9]/m);
  });

  it('holds a send its breaker refuses when no other route can be sent to, and sends it after the cool-down', async () => {
    await trip('upwork');
    // Every send to payoneer fails for a while: its breaker opens after the second failure.
    await t.http
      .put('/v1/ops/sandbox/providers/payoneer')
      .set(ops)
      .send({ transientFailureRate: 1 })
      .expect(200);
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await waitFor(async () => (await health.availability('payoneer')) === 'unhealthy', {
      what: 'the payoneer breaker to open',
    });
    await t.http
      .put('/v1/ops/sandbox/providers/payoneer')
      .set(ops)
      .send({ transientFailureRate: 0 })
      .expect(200);

    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'settled' }),
    ]);
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^payout_waits_total\{step="send",reason="breaker_open"\} [1-9]/m);
  });

  it('counts sends that never answer against the provider, and fails over once they can no longer land', async () => {
    // Slower than the send timeout (1 s): every send to payoneer is given up unanswered and never arrives.
    await t.http.put('/v1/ops/sandbox/providers/payoneer').set(ops).send({ latencyMs: 3000 }).expect(200);
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');

    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'failed' }),
      expect.objectContaining({ routeId: 'upwork-wire-usd', status: 'settled' }),
    ]);
    expect(await transferProviders(t, id)).toEqual([{ provider_id: 'upwork' }]);
  });

  it('still fails a payout whose every route belongs to a provider ops disabled', async () => {
    await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
    await t.http.post('/v1/ops/providers/upwork/disable').set(ops).expect(200);
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('failed');
  });
});
