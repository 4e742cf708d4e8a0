import { randomUUID } from 'node:crypto';
import { PayoutQueues } from '../src/queues/payout-queues.service';
import { ProviderHealthService } from '../src/routing/provider-health.service';
import {
  createFreelancer,
  createPartner,
  ops,
  pakistaniIban,
  startApp,
  TestApp,
  waitFor,
} from './support/app';
import { MovableClock } from './support/movable-clock';
import { announcePayout, Connection, createConnection } from './support/webhooks';
import {
  Payout,
  payoutWaits,
  payoutWhen as payoutAt,
  resetSandbox,
  sendUnderWay,
  setSandbox,
  transferProviders,
} from './support/payouts';

const THRESHOLD = 2;
const COOLDOWN_MS = 60_000;
const WAIT_MAX_MS = 12_000;
const PROVIDERS = ['upwork', 'payoneer', 'correspondent', 'wise', 'zindigi', 'sadapay'];

/**
 * Open circuit breakers and providers ops disabled pass: a payout they alone stand in the way of waits for them,
 * up to PROVIDER_WAIT_MAX_MS, and only then fails.
 */
describe('payouts and open circuit breakers (e2e, workers in process)', () => {
  const clock = new MovableClock();
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
        PROVIDER_WAIT_MAX_MS: String(WAIT_MAX_MS),
        // The sweeper looks often, and finds a waiting attempt stale long before its wait is over.
        SWEEP_INTERVAL_MS: '250',
        SWEEP_STALE_AFTER_MS: '1000',
      },
      { role: 'all', clock },
    );
    health = t.app.get(ProviderHealthService);
    partner = await createPartner(t.http);
    connection = await createConnection(t.http, partner.apiKey, 'upwork');
  });

  afterEach(async () => {
    // Every provider back on, its breaker closed, its sandbox on the happy path, for the other suites of the run.
    for (const id of PROVIDERS) {
      await t.http.post(`/v1/ops/providers/${id}/enable`).set(ops).expect(200);
    }
    await resetSandbox(t.http);
  });

  afterAll(async () => {
    await t.close();
  });

  async function trip(provider: string): Promise<void> {
    for (let i = 0; i < THRESHOLD; i++) await health.recordFailure(provider);
    expect(await health.availability(provider)).toBe('unhealthy');
  }

  /**
   * A payout whose only route left, payoneer's, has its send waiting for payoneer's breaker: upwork is tripped,
   * and payoneer's sends failed until its breaker opened (its sandbox takes them again from here on).
   */
  async function sendWaitingForPayoneer(): Promise<string> {
    await trip('upwork');
    await setSandbox(t.http, 'payoneer', { transientFailureRate: 1 });
    const waitsBefore = await payoutWaits(t, 'send', 'breaker_open');
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await waitFor(async () => (await payoutWaits(t, 'send', 'breaker_open')) > waitsBefore, {
      what: 'the send to wait for the open payoneer breaker',
    });
    expect(await health.availability('payoneer')).toBe('unhealthy');
    await setSandbox(t.http, 'payoneer', { transientFailureRate: 0 });
    return id;
  }

  function payoutWhen(id: string, statuses: string[]): Promise<Payout> {
    return payoutAt(t, partner.apiKey, id, statuses, 20_000);
  }

  it('does not count refusals of one payout (a closed account) against the providers that answered them', async () => {
    const freelancer = await createFreelancer(
      t.http,
      partner.apiKey,
      {},
      { iban: pakistaniIban('CLOSED0000000001') },
    );
    for (let i = 0; i <= THRESHOLD; i++) {
      const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
      const payout = await payoutWhen(id, ['failed']);
      const refused = payout.attempts.map((a) => a.error);
      expect(refused.length).toBeGreaterThan(1);
      for (const error of refused) expect(error).toMatch(/the beneficiary account is closed/);
    }
    for (const provider of ['payoneer', 'upwork'])
      expect(await health.availability(provider)).toBe('available');
  });

  it('keeps a payout received while every route that could carry it has an open breaker, then routes it', async () => {
    await trip('payoneer');
    await trip('upwork');
    const waitsBefore = await payoutWaits(t, 'route', 'breaker_open');
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await waitFor(async () => (await payoutWaits(t, 'route', 'breaker_open')) > waitsBefore, {
      what: 'the payout to wait for the open breakers',
    });
    expect((await payoutAt(t, partner.apiKey, id, ['received'], 1000)).attempts).toEqual([]);

    // The breakers let a trial through once their cool-down has passed on the clock.
    clock.advance(COOLDOWN_MS);
    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.timeline.map((s) => s.status)).toEqual(['received', 'routed', 'sending', 'settled']);
  });

  it('holds a send its breaker refuses when no other route can be sent to, and sends it after the cool-down', async () => {
    const id = await sendWaitingForPayoneer();
    expect((await payoutAt(t, partner.apiKey, id, ['routed', 'sending'], 1000)).attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'pending' }),
    ]);

    clock.advance(COOLDOWN_MS);
    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'settled' }),
    ]);
  });

  it('sends nothing on a route ops switched off while its send waited for the breaker, and fails it over', async () => {
    const id = await sendWaitingForPayoneer();
    await t.http.patch('/v1/ops/routes/upwork-payoneer-usd').set(ops).send({ active: false }).expect(200);
    try {
      clock.advance(COOLDOWN_MS);
      const payout = await payoutWhen(id, ['settled', 'failed']);
      expect(payout.status).toBe('settled');
      expect(payout.attempts).toEqual([
        expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'failed' }),
        expect.objectContaining({ routeId: 'upwork-wire-usd', status: 'settled' }),
      ]);
      expect(payout.attempts[0].error).toMatch(/switched off/);
      expect(await transferProviders(t, id)).toEqual([{ provider_id: 'upwork' }]);
    } finally {
      await t.http.patch('/v1/ops/routes/upwork-payoneer-usd').set(ops).send({ active: true }).expect(200);
    }
  });

  it('fails over to a route routing held back for its open breaker, waiting for the breaker, instead of failing', async () => {
    await trip('payoneer');
    // The route chosen instead refuses the payout for good.
    await setSandbox(t.http, 'upwork', { permanentFailureRate: 1 });
    const waitsBefore = await payoutWaits(t, 'send', 'breaker_open');
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await waitFor(async () => (await payoutWaits(t, 'send', 'breaker_open')) > waitsBefore, {
      what: 'the failover to wait for the open payoneer breaker',
    });
    const waiting = await payoutAt(t, partner.apiKey, id, ['sending'], 1000);
    expect(waiting.candidates.map((q) => q.routeId)).toEqual(['upwork-wire-usd']);
    expect(waiting.rejected).toContainEqual({
      routeId: 'upwork-payoneer-usd',
      reason: 'provider_unhealthy',
    });
    expect(waiting.standby).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', net: '1210.50' }),
    ]);
    expect(waiting.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-wire-usd', status: 'failed' }),
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'pending' }),
    ]);
    expect(await transferProviders(t, id)).toEqual([]);

    clock.advance(COOLDOWN_MS);
    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.route).toEqual(waiting.standby[0]);
    expect(payout.net).toBe('1210.50');
    expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
  });

  it('takes a held-back route at once when its provider is back by the time the chosen route refuses', async () => {
    await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
    // Slow enough to re-enable payoneer while the chosen route's send is on its way; then refused for good.
    await setSandbox(t.http, 'upwork', { permanentFailureRate: 1, latencyMs: 500 });
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await sendUnderWay(t, id);
    await t.http.post('/v1/ops/providers/payoneer/enable').set(ops).expect(200);

    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.rejected).toContainEqual({ routeId: 'upwork-payoneer-usd', reason: 'provider_disabled' });
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-wire-usd', status: 'failed' }),
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'settled' }),
    ]);
    expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
  });

  it('counts sends that never answer against the provider, and fails over once they can no longer land', async () => {
    // Slower than the send timeout (1 s): every send to payoneer is given up unanswered and never arrives.
    await setSandbox(t.http, 'payoneer', { latencyMs: 3000 });
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

  it('keeps a payout received while ops have every provider that could carry it disabled, then routes it', async () => {
    await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
    await t.http.post('/v1/ops/providers/upwork/disable').set(ops).expect(200);
    const waitsBefore = await payoutWaits(t, 'route', 'provider_disabled');
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await waitFor(async () => (await payoutWaits(t, 'route', 'provider_disabled')) > waitsBefore, {
      what: 'the payout to wait for a disabled provider',
    });
    expect((await payoutAt(t, partner.apiKey, id, ['received'], 1000)).attempts).toEqual([]);
    await t.http.post('/v1/ops/providers/upwork/enable').set(ops).expect(200);

    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-wire-usd', status: 'settled' }),
    ]);
    expect(payout.timeline.map((s) => s.status)).toEqual(['received', 'routed', 'sending', 'settled']);
  });

  it('fails a payout over only to routes of enabled providers, and fails it once those have failed', async () => {
    await t.http.post('/v1/ops/providers/upwork/disable').set(ops).expect(200);
    await setSandbox(t.http, 'payoneer', { permanentFailureRate: 1 });
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');

    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('failed');
    // upwork-wire-usd ranks next, but its provider is disabled: it is not eligible, so it is never tried.
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'failed' }),
    ]);
    expect(await transferProviders(t, id)).toEqual([]);
  });

  it('never fails a payout over to a route ops switched off after it was routed', async () => {
    // payoneer refuses for good, but only after the route the failover would take is switched off.
    await setSandbox(t.http, 'payoneer', { permanentFailureRate: 1, latencyMs: 500 });
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
      await sendUnderWay(t, id);
      await t.http.patch('/v1/ops/routes/upwork-wire-usd').set(ops).send({ active: false }).expect(200);

      const payout = await payoutWhen(id, ['settled', 'failed']);
      expect(payout.status).toBe('failed');
      expect(payout.attempts).toEqual([
        expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'failed' }),
      ]);
      expect(await transferProviders(t, id)).toEqual([]);
    } finally {
      await t.http.patch('/v1/ops/routes/upwork-wire-usd').set(ops).send({ active: true }).expect(200);
    }
  });

  it('holds a send whose provider ops disabled while no other route can be sent to, and sends it once enabled', async () => {
    await t.http.post('/v1/ops/providers/upwork/disable').set(ops).expect(200);
    // Slower than the send timeout (1 s): the first send is given up unanswered and never arrives.
    await setSandbox(t.http, 'payoneer', { latencyMs: 3000 });
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await sendUnderWay(t, id);
    await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
    await setSandbox(t.http, 'payoneer', { latencyMs: 0 });
    await waitFor(async () => (await payoutWaits(t, 'send', 'provider_disabled')) > 0, {
      what: 'the send to wait for payoneer to be enabled',
    });
    // Sweeps of the waiting attempt merge into its wait: the delayed sends never pile up while it lasts.
    const [{ id: attemptId }] = await t.db.query(`SELECT id FROM payout_attempts WHERE payout_id = $1`, [id]);
    const waitsBefore = await payoutWaits(t, 'send', 'provider_disabled');
    await waitFor(async () => (await payoutWaits(t, 'send', 'provider_disabled')) >= waitsBefore + 3, {
      what: 'three more waits of the send',
      timeoutMs: 30_000,
    });
    const delayedSends = await waitFor(
      async () => {
        const delayed = await t.app.get(PayoutQueues).send.getDelayed();
        const ofAttempt = delayed.filter((job) => job.data.attemptId === attemptId);
        return ofAttempt.length > 0 && ofAttempt;
      },
      { what: 'the delayed send of the waiting attempt' },
    );
    expect(delayedSends.length).toBeLessThanOrEqual(2);
    await t.http.post('/v1/ops/providers/payoneer/enable').set(ops).expect(200);

    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'settled' }),
    ]);
    expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
  });

  it('counts the wait from an ops retry, not from when a long-unmatched payout first arrived', async () => {
    await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
    await t.http.post('/v1/ops/providers/upwork/disable').set(ops).expect(200);
    const ref = `late-${randomUUID()}`;
    const id = await announcePayout(t, connection, ref, '1250.00');
    await payoutAt(t, partner.apiKey, id, ['unmatched'], 10_000);
    // Unmatched for far longer than PROVIDER_WAIT_MAX_MS.
    await t.db.query(`UPDATE payout_timeline SET at = at - interval '1 day' WHERE payout_id = $1`, [id]);
    await createFreelancer(t.http, partner.apiKey, { externalRef: ref });

    const retried = await t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops).expect(200);
    expect(retried.body.status).toBe('received');
    await t.http.post('/v1/ops/providers/upwork/enable').set(ops).expect(200);
    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.timeline.map((s) => s.status)).toEqual([
      'received',
      'unmatched',
      'received',
      'routed',
      'sending',
      'settled',
    ]);
  });

  it('answers an ops retry that must wait for providers with the payout received when Redis refuses the wait job', async () => {
    await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
    await t.http.post('/v1/ops/providers/upwork/disable').set(ops).expect(200);
    const ref = `late-${randomUUID()}`;
    const id = await announcePayout(t, connection, ref, '1250.00');
    await payoutAt(t, partner.apiKey, id, ['unmatched'], 10_000);
    await createFreelancer(t.http, partner.apiKey, { externalRef: ref });
    const enqueue = jest
      .spyOn(t.app.get(PayoutQueues), 'enqueueRoute')
      .mockRejectedValue(new Error('Redis did not take the job in time'));
    let retried;
    try {
      retried = await t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops);
      expect(enqueue).toHaveBeenCalled();
    } finally {
      enqueue.mockRestore();
    }
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('received');
    // The sweeper queues what Redis refused.
    await t.http.post('/v1/ops/providers/upwork/enable').set(ops).expect(200);
    expect((await payoutWhen(id, ['settled', 'failed'])).status).toBe('settled');
  });

  it('fails it, saying why, once it has waited PROVIDER_WAIT_MAX_MS for providers that never came back', async () => {
    await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
    await t.http.post('/v1/ops/providers/upwork/disable').set(ops).expect(200);
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const waitsBefore = await payoutWaits(t, 'route', 'provider_disabled');
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await waitFor(async () => (await payoutWaits(t, 'route', 'provider_disabled')) > waitsBefore, {
      what: 'the payout to wait for the disabled providers',
    });
    expect((await payoutAt(t, partner.apiKey, id, ['received'], 1000)).attempts).toEqual([]);

    // The wait is counted in the database from the payout's receipt: move that back rather than sleep it out.
    await t.db.query(
      `UPDATE payout_timeline SET at = at - make_interval(secs => $2 / 1000.0)
       WHERE payout_id = $1 AND status = 'received'`,
      [id, WAIT_MAX_MS],
    );
    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('failed');
    expect(payout.attempts).toEqual([]);
    expect(payout.timeline.map((s) => s.status)).toEqual(['received', 'failed']);
    const [row] = await t.db.query(`SELECT failure_reason FROM payouts WHERE id = $1`, [id]);
    expect(row.failure_reason).toBe(
      'no eligible route: the providers that could carry it stayed disabled or unhealthy for 12 s',
    );
  });

  it('still fails at once a payout that no route could carry even with every provider back', async () => {
    await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    // Every upwork route's fees exceed one cent: no provider coming back would carry it.
    const id = await announcePayout(t, connection, freelancer.externalRef, '0.01');
    const payout = await payoutAt(t, partner.apiKey, id, ['settled', 'failed'], 10_000);
    expect(payout.status).toBe('failed');
    const [row] = await t.db.query(`SELECT failure_reason FROM payouts WHERE id = $1`, [id]);
    expect(row.failure_reason).toBe('no eligible route');
  });
});
