import {
  addAccount,
  bearer,
  createFreelancer,
  createPartner,
  ops,
  pakistaniIban,
  startApp,
  TestApp,
  waitFor,
} from './support/app';
import { Clock } from '../src/common/clock';
import { FreelancersService } from '../src/freelancers/freelancers.service';
import { InvoiceDocumentsService } from '../src/invoices/invoice-documents.service';
import { InvoicesService } from '../src/invoices/invoices.service';
import { pakistanDate } from '../src/invoices/pakistan-export';
import { MAX_UNKNOWN_SENDS, PayoutPipelineService, RetryLater } from '../src/payouts/payout-pipeline.service';
import { ConnectorRegistry } from '../src/payouts/connectors/connector-registry';
import { SendRequest } from '../src/payouts/connectors/provider-connector';
import { PayoutQueues } from '../src/queues/payout-queues.service';
import { JobIds } from '../src/queues/queues';
import { RedisService } from '../src/redis/redis.module';
import { ProviderHealthService } from '../src/routing/provider-health.service';
import { RoutingService } from '../src/routing/routing.service';
import { announcePayout, Connection, createConnection } from './support/webhooks';
import { resetSandbox, setSandbox, transferProviders } from './support/payouts';

/**
 * Races between steps of one payout, driven by hand: the app runs without workers, so each step runs exactly
 * when the test calls it, and two calls of one step can overlap as two jobs (a retry and a sweep, say) would.
 */
describe('payout pipeline races (e2e, steps called by hand)', () => {
  let t: TestApp;
  let partner: { id: string; apiKey: string };
  let connection: Connection;
  let pipeline: PayoutPipelineService;

  beforeAll(async () => {
    t = await startApp(
      {
        SEND_TIMEOUT_MS: '1500',
        BREAKER_FAILURE_THRESHOLD: '1000',
        SANDBOX_SETTLE_AFTER_MS: '50',
        // One check for a return, a second after settling: the first check is also the last.
        RETURN_CHECK_DELAY_MS: '1000',
        RETURN_WINDOW_MS: '1000',
      },
      { role: 'api' },
    );
    partner = await createPartner(t.http);
    connection = await createConnection(t.http, partner.apiKey, 'upwork');
    pipeline = t.app.get(PayoutPipelineService);
  });

  afterEach(async () => {
    // Whatever a test set, and however it ended, the next test (and suite) starts on the happy path.
    await resetSandbox(t.http);
  });

  afterAll(async () => {
    await t.close();
  });

  /** A payout announced and routed (not sent): its one attempt, pending. */
  async function routedPayout(amount: string): Promise<{ id: string; attemptId: string }> {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, amount);
    await pipeline.route(id, { sendInline: false });
    const [attempt] = await t.db.query(`SELECT id FROM payout_attempts WHERE payout_id = $1`, [id]);
    return { id, attemptId: attempt.id };
  }

  async function attempts(payoutId: string): Promise<{ route_id: string; status: string }[]> {
    return t.db.query(`SELECT route_id, status FROM payout_attempts WHERE payout_id = $1 ORDER BY seq`, [
      payoutId,
    ]);
  }

  /** Settlement polls, as the settle job makes them, until the provider has settled the accepted transfer. */
  async function settleSoon(id: string, attemptId: string): Promise<void> {
    await waitFor(
      async () => {
        await pipeline.settle({ payoutId: id, attemptId }).catch((error: unknown) => {
          if (!(error instanceof RetryLater)) throw error;
        });
        const [row] = await t.db.query(`SELECT status FROM payouts WHERE id = $1`, [id]);
        return row.status === 'settled';
      },
      { what: 'the payout to settle' },
    );
  }

  /** A send job as the send processor runs it: RetryLater is the job asking to be run again. */
  async function sendJob(payoutId: string, attemptId: string): Promise<void> {
    await pipeline.send(payoutId, attemptId, false).catch((error: unknown) => {
      if (!(error instanceof RetryLater)) throw error;
    });
  }

  it('never fails over while another send of an attempt whose earlier send timed out may still land', async () => {
    const { id, attemptId } = await routedPayout('910.00');
    try {
      // The first send times out (slower than SEND_TIMEOUT_MS): never arrived, its outcome unknown.
      await setSandbox(t.http, 'payoneer', { latencyMs: 2500 });
      await sendJob(id, attemptId);
      const [first] = await t.db.query(`SELECT status, last_send_at FROM payout_attempts WHERE id = $1`, [
        attemptId,
      ]);
      expect(first.status).toBe('unknown');

      // Job X (the send job's retry) asks the provider, finds nothing, and sends the same key again: slowly.
      await setSandbox(t.http, 'payoneer', { latencyMs: 800 });
      const x = sendJob(id, attemptId);
      await waitFor(
        async () => {
          const [row] = await t.db.query(`SELECT last_send_at FROM payout_attempts WHERE id = $1`, [
            attemptId,
          ]);
          return row.last_send_at.getTime() !== first.last_send_at.getTime();
        },
        { what: 'the second send to be marked' },
      );
      // Job Y (a sweep of the same attempt) runs meanwhile; by now the provider refuses sends for good.
      await setSandbox(t.http, 'payoneer', { latencyMs: 0, permanentFailureRate: 1 });
      await sendJob(id, attemptId);
      await x;

      // X's send landed at payoneer: the payout may not have moved on to a second route.
      expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
      expect(await attempts(id)).toEqual([
        { route_id: 'upwork-payoneer-usd', status: expect.stringMatching(/^(accepted|settled)$/) },
      ]);
    } finally {
      await setSandbox(t.http, 'payoneer', { latencyMs: 0, permanentFailureRate: 0 });
    }
  });

  describe('a send that came back unknown, then a resend of its key refused as transient', () => {
    /**
     * Send 1 is given up unanswered (the provider may still carry it out until its window is over); the resend of
     * the same key is turned away at the provider's door (a 503: nothing was created by that call); the provider's
     * status API has no record of the key yet.
     */
    async function unknownThenTransient(amount: string, finalTry: boolean) {
      const { id, attemptId } = await routedPayout(amount);
      const connector = t.app.get(ConnectorRegistry).get('payoneer');
      const send = jest
        .spyOn(connector, 'send')
        .mockResolvedValueOnce({ kind: 'unknown', error: 'no answer within SEND_TIMEOUT_MS' })
        .mockResolvedValueOnce({ kind: 'transient', error: '503 from the load balancer' });
      const status = jest.spyOn(connector, 'getStatus').mockResolvedValue({ state: 'not_found' });
      await sendJob(id, attemptId);
      const [first] = await t.db.query(`SELECT status, last_send_at FROM payout_attempts WHERE id = $1`, [
        attemptId,
      ]);
      expect(first.status).toBe('unknown');
      await pipeline.send(id, attemptId, finalTry).catch((error: unknown) => {
        if (!(error instanceof RetryLater)) throw error;
      });
      expect(send).toHaveBeenCalledTimes(2);
      const restore = () => {
        send.mockRestore();
        status.mockRestore();
      };
      return { id, attemptId, firstMark: first.last_send_at as Date, restore };
    }

    const stillInWindow = (mark: Date) =>
      expect(Date.now()).toBeLessThan(mark.getTime() + t.config.sendTimeoutMs + 5_000);

    it('keeps the unknown send’s mark, so no failover starts while that send may still land', async () => {
      const { id, attemptId, firstMark, restore } = await unknownThenTransient('377.00', false);
      try {
        const [row] = await t.db.query(`SELECT status, last_send_at FROM payout_attempts WHERE id = $1`, [
          attemptId,
        ]);
        expect(row).toEqual({ status: 'unknown', last_send_at: firstMark });
        // payoneer is taken out of service while another route can be sent to: the next send job would fail over.
        await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
        await sendJob(id, attemptId);
        stillInWindow(firstMark);
        expect(await attempts(id)).toEqual([{ route_id: 'upwork-payoneer-usd', status: 'unknown' }]);
      } finally {
        restore();
        await t.http.post('/v1/ops/providers/payoneer/enable').set(ops).expect(200);
      }
    });

    it('on the send job’s last try, waits for the unknown send’s window instead of failing over', async () => {
      const { id, attemptId, firstMark, restore } = await unknownThenTransient('378.00', true);
      try {
        stillInWindow(firstMark);
        expect(await attempts(id)).toEqual([{ route_id: 'upwork-payoneer-usd', status: 'unknown' }]);
        const delayed = await t.app.get(PayoutQueues).send.getDelayed();
        expect(delayed.filter((job) => job.data.attemptId === attemptId)).toHaveLength(1);
      } finally {
        restore();
      }
    });
  });

  it('records an unknown outcome only while the attempt still holds that send’s mark', async () => {
    const { id, attemptId } = await routedPayout('455.00');
    const connector = t.app.get(ConnectorRegistry).get('payoneer');
    let answer!: () => void;
    const held = jest.spyOn(connector, 'send').mockImplementationOnce(
      () =>
        new Promise((resolve) => {
          answer = () => resolve({ kind: 'unknown', error: 'no answer in time' });
        }),
    );
    try {
      const late = sendJob(id, attemptId);
      await waitFor(async () => held.mock.calls.length === 1, { what: 'the send to reach the provider' });
      // While this job's answer is late (a stalled worker), another job's send took the attempt over.
      const taken = new Date(Date.now() + 60_000);
      await t.db.query(`UPDATE payout_attempts SET last_send_at = $2 WHERE id = $1`, [attemptId, taken]);
      answer();
      await late;
      const [row] = await t.db.query(`SELECT status, last_send_at FROM payout_attempts WHERE id = $1`, [
        attemptId,
      ]);
      // Still pending under the other send: an unknown here would let a third job mark over that send.
      expect(row).toEqual({ status: 'pending', last_send_at: taken });
    } finally {
      held.mockRestore();
    }
  });

  it('routes a payout to the new default when the partner moves the default while routing decides', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const [old] = await t.db.query(`SELECT id FROM dollar_accounts WHERE freelancer_id = $1`, [
      freelancer.id,
    ]);
    const next = await addAccount(t.http, partner.apiKey, freelancer.id, { iban: pakistaniIban('7771') });
    const id = await announcePayout(t, connection, freelancer.externalRef, '623.00');
    const routing = t.app.get(RoutingService);
    const decide = routing.decide.bind(routing);
    // Routing has read the default; the partner moves it and is answered 200 before routing commits.
    const moved = jest.spyOn(routing, 'decide').mockImplementationOnce(async (...args) => {
      await t.http
        .post(`/v1/freelancers/${freelancer.id}/accounts/${next.id}/default`)
        .set(bearer(partner.apiKey))
        .expect(200);
      return decide(...args);
    });
    try {
      await pipeline.route(id, { sendInline: false });
    } finally {
      moved.mockRestore();
    }
    const [payout] = await t.db.query(`SELECT status, account_id FROM payouts WHERE id = $1`, [id]);
    expect(payout).toEqual({ status: 'routed', account_id: next.id });
    expect(payout.account_id).not.toBe(old.id);
  });

  it('answers an ops retry whose routing must run again later with the payout received, not an error', async () => {
    const id = await announcePayout(t, connection, 'fl-never-registered', '120.00');
    await pipeline.route(id, { sendInline: false });
    const route = jest
      .spyOn(pipeline, 'route')
      .mockRejectedValueOnce(new RetryLater('its account was closed while it was routed'));
    try {
      const res = await t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops).expect(200);
      expect(res.body).toEqual(expect.objectContaining({ id, status: 'received' }));
      expect(route).toHaveBeenCalledTimes(1);
    } finally {
      route.mockRestore();
    }
  });

  /** payoneer's breaker, opened a cool-down ago: the next send is its one trial. Answers how to close it again. */
  async function halfOpenPayoneer(): Promise<() => Promise<unknown>> {
    const redis = t.app.get(RedisService).client;
    await redis.hset('breaker:{payoneer}', {
      state: 'open',
      openedAt: String(Date.now() - t.config.breaker.cooldownMs - 1000),
    });
    return () => redis.del('breaker:{payoneer}', 'breaker:{payoneer}:failures');
  }

  it('takes no half-open breaker’s trial for a send it then may not make', async () => {
    const { id, attemptId } = await routedPayout('515.00');
    const health = t.app.get(ProviderHealthService);
    const closeBreaker = await halfOpenPayoneer();
    try {
      // Another job's send of this attempt is on its way (its mark is fresh), so this job must wait for it.
      await t.db.query(`UPDATE payout_attempts SET last_send_at = now() WHERE id = $1`, [attemptId]);
      await sendJob(id, attemptId);
      expect(await transferProviders(t, id)).toEqual([]);
      // The trial is still there for a send that can go out.
      expect(await health.acquireSend('payoneer')).toBe(true);
    } finally {
      await closeBreaker();
    }
  });

  it('lets only the job holding an attempt’s mark take a half-open breaker’s trial; the other waits, never failing over', async () => {
    const { id, attemptId } = await routedPayout('517.00');
    const health = t.app.get(ProviderHealthService);
    const closeBreaker = await halfOpenPayoneer();
    // Job A stops right after it asks for the send slot, until job B (a sweep's send of the same attempt) is done.
    let bDone!: () => void;
    const bFinished = new Promise<void>((resolve) => (bDone = resolve));
    let aAtSlot!: () => void;
    const aReachedSlot = new Promise<void>((resolve) => (aAtSlot = resolve));
    const acquire = health.acquireSend.bind(health);
    const slot = jest.spyOn(health, 'acquireSend').mockImplementationOnce(async (provider) => {
      aAtSlot();
      const granted = await acquire(provider);
      await bFinished;
      return granted;
    });
    try {
      const a = sendJob(id, attemptId);
      await aReachedSlot;
      await sendJob(id, attemptId);
      bDone();
      await a;
      // upwork could take the payout, but B never failed the attempt over: A's trial went to payoneer.
      expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
      expect(await attempts(id)).toEqual([
        { route_id: 'upwork-payoneer-usd', status: expect.stringMatching(/^(accepted|settled)$/) },
      ]);
      expect(await health.availability('payoneer')).toBe('available');
    } finally {
      slot.mockRestore();
      await closeBreaker();
    }
  });

  /**
   * A routed payout whose send reached payoneer and was accepted there, while its worker died before recording
   * that; the send's window has passed since, so the sweeper's next send of the attempt may run.
   */
  async function sendLostByItsWorker(amount: string): Promise<{ id: string; attemptId: string }> {
    const routed = await routedPayout(amount);
    const died = jest
      .spyOn(pipeline as unknown as { accepted: () => Promise<void> }, 'accepted')
      .mockRejectedValueOnce(new Error('worker died'));
    try {
      await expect(pipeline.send(routed.id, routed.attemptId, false)).rejects.toThrow('worker died');
    } finally {
      died.mockRestore();
    }
    expect(await transferProviders(t, routed.id)).toEqual([{ provider_id: 'payoneer' }]);
    await t.db.query(
      `UPDATE payout_attempts SET last_send_at = last_send_at - make_interval(secs => $2 / 1000.0) WHERE id = $1`,
      [routed.attemptId, t.config.sendTimeoutMs + 60_000],
    );
    return routed;
  }

  it('asks the provider about a send whose worker died before recording it, when the breaker refuses the next', async () => {
    const { id, attemptId } = await sendLostByItsWorker('611.00');
    // payoneer's breaker opened (it is in its cool-down) before the sweeper's send runs.
    const redis = t.app.get(RedisService).client;
    await redis.hset('breaker:{payoneer}', { state: 'open', openedAt: String(Date.now()) });
    try {
      await sendJob(id, attemptId);
      // Refused by the breaker, the send took its mark back and left the earlier one, so the attempt followed the
      // provider's record instead of failing over to upwork as never sent.
      expect(await attempts(id)).toEqual([
        { route_id: 'upwork-payoneer-usd', status: expect.stringMatching(/^(accepted|settled)$/) },
      ]);
      expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
    } finally {
      await redis.del('breaker:{payoneer}', 'breaker:{payoneer}:failures');
    }
  });

  it('asks the provider about a send whose worker died before recording it, when the last retry is answered transient', async () => {
    const { id, attemptId } = await sendLostByItsWorker('612.00');
    // The provider answers the resend of the key with a transient error before looking the key up.
    const payoneer = t.app.get(ConnectorRegistry).get('payoneer');
    const busy = jest
      .spyOn(payoneer, 'send')
      .mockResolvedValueOnce({ kind: 'transient', error: 'HTTP 503 from the load balancer' });
    try {
      await pipeline.send(id, attemptId, true);
    } finally {
      busy.mockRestore();
    }
    expect(await attempts(id)).toEqual([
      { route_id: 'upwork-payoneer-usd', status: expect.stringMatching(/^(accepted|settled)$/) },
    ]);
    expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
  });

  /** The pipeline's clock reads `ms` later from now on, as if the process had stalled that long; answers the undo. */
  function stallFor(ms: number): () => void {
    const clock = t.app.get(Clock);
    const now = jest.spyOn(clock, 'now').mockImplementation(() => new Date(Date.now() + ms));
    return () => now.mockRestore();
  }

  async function attemptMark(attemptId: string): Promise<{ status: string; last_send_at: Date | null }> {
    const [row] = await t.db.query(`SELECT status, last_send_at FROM payout_attempts WHERE id = $1`, [
      attemptId,
    ]);
    return row;
  }

  /** A routed payout whose first send to payoneer came back unknown: answers the request that send made. */
  async function unknownSend(
    amount: string,
  ): Promise<{ id: string; attemptId: string; request: SendRequest }> {
    const routed = await routedPayout(amount);
    let request!: SendRequest;
    const lost = jest
      .spyOn(t.app.get(ConnectorRegistry).get('payoneer'), 'send')
      .mockImplementationOnce(async (r) => {
        request = r;
        return { kind: 'unknown', error: 'no answer within SEND_TIMEOUT_MS' };
      });
    try {
      await sendJob(routed.id, routed.attemptId);
    } finally {
      lost.mockRestore();
    }
    expect((await attemptMark(routed.attemptId)).status).toBe('unknown');
    return { ...routed, request };
  }

  it('takes back exactly the mark its own mark replaced, not the one it read before another send marked', async () => {
    // A send came back unknown long ago: its window is over.
    const { id, attemptId } = await unknownSend('733.00');
    await t.db.query(
      `UPDATE payout_attempts SET last_send_at = last_send_at - make_interval(secs => $2 / 1000.0) WHERE id = $1`,
      [attemptId, t.config.sendTimeoutMs + 60_000],
    );
    const payoneer = t.app.get(ConnectorRegistry).get('payoneer');
    const lost = jest
      .spyOn(payoneer, 'send')
      .mockResolvedValueOnce({ kind: 'unknown', error: 'no answer within SEND_TIMEOUT_MS' });
    // Job B read the attempt, and stalls before its mark.
    const freelancers = t.app.get(FreelancersService);
    const payee = freelancers.payee.bind(freelancers);
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let stalling!: () => void;
    const stalled = new Promise<void>((resolve) => (stalling = resolve));
    const stall = jest.spyOn(freelancers, 'payee').mockImplementationOnce(async (...args) => {
      stalling();
      await resumed;
      return payee(...args);
    });
    const redis = t.app.get(RedisService).client;
    try {
      const b = sendJob(id, attemptId);
      await stalled;
      // Job A resends the key meanwhile: no answer in time either, so that send may land for a while.
      await sendJob(id, attemptId);
      const afterA = await attemptMark(attemptId);
      expect(afterA.status).toBe('unknown');
      // payoneer's breaker opens; B marks, is refused its slot, and takes its mark back.
      await redis.hset('breaker:{payoneer}', { state: 'open', openedAt: String(Date.now()) });
      resume();
      await b;
      // A's mark stands again, so no second route starts while A's send may land.
      expect(await attemptMark(attemptId)).toEqual(afterA);
      expect(await attempts(id)).toEqual([{ route_id: 'upwork-payoneer-usd', status: 'unknown' }]);
    } finally {
      resume();
      stall.mockRestore();
      lost.mockRestore();
      await redis.del('breaker:{payoneer}', 'breaker:{payoneer}:failures');
    }
  });

  it('never fails over on a refusal of a resend while the unknown send before it may still land', async () => {
    const { id, attemptId, request } = await unknownSend('614.00');
    const before = await attemptMark(attemptId);
    // The resend of the key is refused before the provider looks the key up (a gateway's 403).
    const payoneer = t.app.get(ConnectorRegistry).get('payoneer');
    const refused = jest
      .spyOn(payoneer, 'send')
      .mockResolvedValueOnce({ kind: 'permanent', fault: 'provider', error: '403 from the risk gateway' });
    try {
      await sendJob(id, attemptId);
    } finally {
      refused.mockRestore();
    }
    // The refusal says nothing of the unknown send, which may still land: no failover, the unknown mark kept.
    expect(await attempts(id)).toEqual([{ route_id: 'upwork-payoneer-usd', status: 'unknown' }]);
    expect(await attemptMark(attemptId)).toEqual(before);
    // It lands, and the next send job finds it at the provider.
    await payoneer.send({ ...request, signal: undefined });
    await sendJob(id, attemptId);
    expect(await attempts(id)).toEqual([
      { route_id: 'upwork-payoneer-usd', status: expect.stringMatching(/^(accepted|settled)$/) },
    ]);
    expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
  });

  it('asks the provider about a send whose worker died before recording it, when a resend is refused for good', async () => {
    const { id, attemptId } = await sendLostByItsWorker('615.00');
    const refused = jest
      .spyOn(t.app.get(ConnectorRegistry).get('payoneer'), 'send')
      .mockResolvedValueOnce({ kind: 'permanent', fault: 'provider', error: '403 from the risk gateway' });
    try {
      await sendJob(id, attemptId);
    } finally {
      refused.mockRestore();
    }
    expect(await attempts(id)).toEqual([
      { route_id: 'upwork-payoneer-usd', status: expect.stringMatching(/^(accepted|settled)$/) },
    ]);
    expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
  });

  it('relies on "no record of the key" only for sends whose window was over when the provider was asked', async () => {
    const { id, attemptId } = await unknownSend('616.00');
    // payoneer's breaker opens, so the retry, finding no record of the key, would fail over to upwork.
    const redis = t.app.get(RedisService).client;
    await redis.hset('breaker:{payoneer}', { state: 'open', openedAt: String(Date.now()) });
    const payoneer = t.app.get(ConnectorRegistry).get('payoneer');
    const lookUp = payoneer.getStatus.bind(payoneer);
    let undo = () => {};
    // The provider is asked inside the unknown send's window; its answer comes back after the window is over.
    const slowAnswer = jest.spyOn(payoneer, 'getStatus').mockImplementationOnce(async (key) => {
      const answer = await lookUp(key);
      undo = stallFor(t.config.sendTimeoutMs + 10_000);
      return answer;
    });
    try {
      await sendJob(id, attemptId);
    } finally {
      slowAnswer.mockRestore();
      undo();
      await redis.del('breaker:{payoneer}', 'breaker:{payoneer}:failures');
    }
    // The unknown send could have landed after the provider looked: the attempt waits and asks again.
    expect(await attempts(id)).toEqual([{ route_id: 'upwork-payoneer-usd', status: 'unknown' }]);
    expect(await transferProviders(t, id)).toEqual([]);
  });

  it('sends nothing when the send was held up past its timeout after its mark, and takes the mark back', async () => {
    const { id, attemptId } = await routedPayout('617.00');
    const health = t.app.get(ProviderHealthService);
    const acquire = health.acquireSend.bind(health);
    let undo = () => {};
    // The process stalls right after the send slot is granted, for longer than SEND_TIMEOUT_MS.
    const slot = jest.spyOn(health, 'acquireSend').mockImplementationOnce(async (provider) => {
      const granted = await acquire(provider);
      undo = stallFor(t.config.sendTimeoutMs + 1);
      return granted;
    });
    try {
      await expect(pipeline.send(id, attemptId, false)).rejects.toThrow(/held up past its timeout/);
    } finally {
      slot.mockRestore();
      undo();
    }
    // Another job may have marked the attempt once its window was over: this one's send never goes out.
    expect(await transferProviders(t, id)).toEqual([]);
    expect(await attemptMark(attemptId)).toEqual({ status: 'pending', last_send_at: null });
  });

  it.each([
    [
      'comes back unknown',
      (send: jest.SpyInstance) => send.mockResolvedValue({ kind: 'unknown', error: 'no answer' }),
    ],
    // A reset socket, or an abort its client library lets escape: the call may or may not have reached it.
    ['throws', (send: jest.SpyInstance) => send.mockRejectedValue(new Error('socket hang up'))],
  ])(
    'fails over an attempt its provider never answers (each send %s), though its breaker stays closed, once no send can land',
    async (_how, unanswered) => {
      const { id, attemptId } = await routedPayout('619.00');
      // payoneer hangs on this payout alone: nothing of it reaches its books.
      const hangs = unanswered(jest.spyOn(t.app.get(ConnectorRegistry).get('payoneer'), 'send'));
      const asked = jest.spyOn(t.app.get(ConnectorRegistry).get('payoneer'), 'getStatus');
      try {
        for (let send = 1; send <= MAX_UNKNOWN_SENDS + 1; send++) await sendJob(id, attemptId);
        expect(hangs).toHaveBeenCalledTimes(MAX_UNKNOWN_SENDS);
        // Before each send of a key whose last send came back unknown, the provider is asked for it.
        expect(asked).toHaveBeenCalledTimes(MAX_UNKNOWN_SENDS);
        expect(await t.app.get(ProviderHealthService).isClosed('payoneer')).toBe(true);
        // The last send may still land until its window is over: the attempt waits for it.
        expect(await attempts(id)).toEqual([{ route_id: 'upwork-payoneer-usd', status: 'unknown' }]);
        await t.db.query(
          `UPDATE payout_attempts SET last_send_at = last_send_at - make_interval(secs => $2 / 1000.0) WHERE id = $1`,
          [attemptId, t.config.sendTimeoutMs + 60_000],
        );
        await sendJob(id, attemptId);
      } finally {
        hangs.mockRestore();
        asked.mockRestore();
      }
      expect(await attempts(id)).toEqual([
        { route_id: 'upwork-payoneer-usd', status: 'failed' },
        { route_id: 'upwork-wire-usd', status: 'pending' },
      ]);
      const [failed] = await t.db.query(`SELECT error FROM payout_attempts WHERE id = $1`, [attemptId]);
      expect(failed.error).toBe(
        `nothing arrived: payoneer answered none of ${MAX_UNKNOWN_SENDS} sends of it`,
      );
      const [next] = await t.db.query(`SELECT id FROM payout_attempts WHERE payout_id = $1 AND seq = 2`, [
        id,
      ]);
      await sendJob(id, next.id);
      expect(await transferProviders(t, id)).toEqual([{ provider_id: 'upwork' }]);
    },
  );

  it('does not fail over an attempt left unanswered MAX_UNKNOWN_SENDS times while its last send may still land', async () => {
    const { id, attemptId } = await routedPayout('623.00');
    // Its last send was marked a moment ago and came back unknown (a reset socket, say): it may still arrive.
    await t.db.query(`UPDATE payouts SET status = 'sending' WHERE id = $1`, [id]);
    await t.db.query(
      `UPDATE payout_attempts SET status = 'unknown', unknown_sends = $2, last_send_at = clock_timestamp()
       WHERE id = $1`,
      [attemptId, MAX_UNKNOWN_SENDS],
    );
    const payoneer = t.app.get(ConnectorRegistry).get('payoneer');
    const asked = jest.spyOn(payoneer, 'getStatus').mockResolvedValue({ state: 'not_found' });
    const sends = jest.spyOn(payoneer, 'send');
    try {
      await sendJob(id, attemptId);
      expect(asked).toHaveBeenCalledTimes(1);
      expect(sends).not.toHaveBeenCalled();
    } finally {
      asked.mockRestore();
      sends.mockRestore();
    }
    // No record of the key yet is no proof the send will not land: no second route while it may.
    expect(await attempts(id)).toEqual([{ route_id: 'upwork-payoneer-usd', status: 'unknown' }]);
  });

  it('sends again, instead of failing over, when the provider takes traffic again right after refusing the slot', async () => {
    const { id, attemptId } = await routedPayout('621.00');
    const health = t.app.get(ProviderHealthService);
    const redis = t.app.get(RedisService).client;
    // payoneer's breaker is open, in its cool-down, when the send asks for a slot; its cool-down ends right after.
    await redis.hset('breaker:{payoneer}', { state: 'open', openedAt: String(Date.now()) });
    const acquire = health.acquireSend.bind(health);
    const slot = jest.spyOn(health, 'acquireSend').mockImplementationOnce(async (provider) => {
      const granted = await acquire(provider);
      await redis.hset('breaker:{payoneer}', {
        openedAt: String(Date.now() - t.config.breaker.cooldownMs - 1000),
      });
      return granted;
    });
    try {
      await sendJob(id, attemptId);
      expect(slot).toHaveBeenCalledTimes(1);
      // upwork could take the payout, but payoneer is back: the attempt stays and is sent again shortly.
      expect(await attempts(id)).toEqual([{ route_id: 'upwork-payoneer-usd', status: 'pending' }]);
      expect(await transferProviders(t, id)).toEqual([]);
      await sendJob(id, attemptId);
      expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
    } finally {
      slot.mockRestore();
      await redis.del('breaker:{payoneer}', 'breaker:{payoneer}:failures');
    }
  });

  it('takes no half-open breaker’s trial for a send held up past its timeout before asking for the slot', async () => {
    const { id, attemptId } = await routedPayout('622.00');
    const health = t.app.get(ProviderHealthService);
    const closeBreaker = await halfOpenPayoneer();
    const slot = jest.spyOn(health, 'acquireSend');
    let undo = () => {};
    // The process stalls right after the send is marked, for longer than SEND_TIMEOUT_MS.
    const marking = pipeline as unknown as { markSend: (...args: unknown[]) => Promise<unknown> };
    const mark = marking.markSend.bind(pipeline);
    const stall = jest.spyOn(marking, 'markSend').mockImplementationOnce(async (...args) => {
      const marked = await mark(...args);
      undo = stallFor(t.config.sendTimeoutMs + 1);
      return marked;
    });
    try {
      await expect(pipeline.send(id, attemptId, false)).rejects.toThrow(/held up past its timeout/);
      expect(slot).not.toHaveBeenCalled();
      undo();
      // The trial is still there for a send that can go out.
      expect(await health.acquireSend('payoneer')).toBe(true);
    } finally {
      undo();
      stall.mockRestore();
      slot.mockRestore();
      await closeBreaker();
    }
    expect(await attemptMark(attemptId)).toEqual({ status: 'pending', last_send_at: null });
  });

  it('never fails over a transfer the provider accepted when a status poll finds no record of it', async () => {
    const { id, attemptId } = await routedPayout('618.00');
    // The provider's status lookup lags its sends: the poll right after the acceptance finds nothing.
    const lagging = jest
      .spyOn(t.app.get(ConnectorRegistry).get('payoneer'), 'getStatus')
      .mockResolvedValueOnce({ state: 'not_found' });
    try {
      await sendJob(id, attemptId);
    } finally {
      lagging.mockRestore();
    }
    expect(await attempts(id)).toEqual([{ route_id: 'upwork-payoneer-usd', status: 'accepted' }]);
    const metrics = await t.http.get('/metrics').set(ops).expect(200);
    expect(metrics.text).toMatch(/accepted_transfers_not_found_total\{provider="payoneer"\} [1-9]/);
    // A later poll finds it settled.
    await waitFor(
      async () => {
        await pipeline.settle({ payoutId: id, attemptId }, { finalTry: true });
        return (await attempts(id))[0].status === 'settled';
      },
      { what: 'a poll to find the transfer settled' },
    );
    expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
  });

  it('takes its mark back when asking for a send slot fails, leaving the attempt as it found it', async () => {
    const { id, attemptId } = await routedPayout('613.00');
    const health = t.app.get(ProviderHealthService);
    const slot = jest.spyOn(health, 'acquireSend').mockRejectedValueOnce(new Error('Postgres went away'));
    try {
      await expect(pipeline.send(id, attemptId, false)).rejects.toThrow('Postgres went away');
    } finally {
      slot.mockRestore();
    }
    const [row] = await t.db.query(`SELECT status, last_send_at FROM payout_attempts WHERE id = $1`, [
      attemptId,
    ]);
    expect(row).toEqual({ status: 'pending', last_send_at: null });
    // So the job's retry sends at once, with no send window to wait out.
    await sendJob(id, attemptId);
    expect(await transferProviders(t, id)).toEqual([{ provider_id: 'payoneer' }]);
  });

  /** The attempt's next slow poll as Postgres keeps it, and how far off it is. */
  async function slowPoll(attemptId: string): Promise<{ status: string; dueAtMs: number; inMs: number }> {
    const [row] = await t.db.query(
      `SELECT status, settle_check_at, extract(epoch FROM settle_check_at - clock_timestamp()) * 1000 AS in_ms
       FROM payout_attempts WHERE id = $1`,
      [attemptId],
    );
    return { status: row.status, dueAtMs: row.settle_check_at.getTime(), inMs: Number(row.in_ms) };
  }

  /** The delayed settle jobs queued for an attempt's slow poll, by due time. */
  async function slowPollJobs(attemptId: string): Promise<{ dueAtMs: number; data: unknown }[]> {
    const delayed = await t.app.get(PayoutQueues).settle.getDelayed();
    return delayed
      .filter((job) => job.id?.startsWith(`settle-${attemptId}-poll-`))
      .map((job) => ({ dueAtMs: job.data.pollDueAtMs as number, data: job.data }))
      .sort((a, b) => a.dueAtMs - b.dueAtMs);
  }

  async function removeSlowPollJobs(attemptId: string): Promise<void> {
    for (const job of await t.app.get(PayoutQueues).settle.getDelayed())
      if (job.id?.startsWith(`settle-${attemptId}-poll-`)) await job.remove();
  }

  it('hands a transfer still processing after a settle job’s quick polls to the slow poll instead of failing', async () => {
    await setSandbox(t.http, 'payoneer', { settleAfterMs: 600_000 });
    const { id, attemptId } = await routedPayout('233.00');
    const slowPolls = async (): Promise<number> => {
      const metrics = (await t.http.get('/metrics').set(ops).expect(200)).text;
      return Number(
        /^payout_waits_total\{step="settle",reason="processing"\} (\d+)$/m.exec(metrics)?.[1] ?? 0,
      );
    };
    const slowPollsBefore = await slowPolls();
    try {
      await sendJob(id, attemptId);
      // Not the last try: the job polls again shortly.
      await expect(pipeline.settle({ payoutId: id, attemptId }, { finalTry: false })).rejects.toBeInstanceOf(
        RetryLater,
      );
      // The last try: no failure, the next poll is kept in Postgres and queued for then.
      await pipeline.settle({ payoutId: id, attemptId }, { finalTry: true });
      const poll = await slowPoll(attemptId);
      expect(poll.status).toBe('accepted');
      expect(poll.inMs).toBeGreaterThan(t.config.settlePollIntervalMs - 5_000);
      expect(poll.inMs).toBeLessThanOrEqual(t.config.settlePollIntervalMs);
      const job = await t.app.get(PayoutQueues).settle.getJob(JobIds.settlePoll(attemptId, poll.dueAtMs));
      expect(job?.data).toEqual({ payoutId: id, attemptId, pollDueAtMs: poll.dueAtMs });
      expect(job?.opts.delay).toBe(t.config.settlePollIntervalMs);
      // Ops see it: the slow poll is counted, and the transfer among those accepted and not settled, with its age.
      expect(await slowPolls()).toBe(slowPollsBefore + 1);
      const [open] = await t.db.query(
        `SELECT count(*)::int AS n FROM payouts p JOIN payout_attempts a ON a.payout_id = p.id
         WHERE p.status = 'sending' AND a.status = 'accepted' AND a.provider = 'payoneer'`,
      );
      await waitFor(
        async () => {
          const metrics = (await t.http.get('/metrics').set(ops).expect(200)).text;
          return (
            metrics.includes(`\naccepted_transfers_open{provider="payoneer"} ${open.n}\n`) &&
            /^accepted_transfer_oldest_seconds\{provider="payoneer"\} \d+$/m.test(metrics)
          );
        },
        { what: 'the accepted-transfer gauges to count this transfer' },
      );
    } finally {
      await removeSlowPollJobs(attemptId);
      await setSandbox(t.http, 'payoneer', { settleAfterMs: 50 });
    }
  });

  it('asks once per slow poll, and merges two jobs for one poll (the delayed one and the sweeper’s) into one chain', async () => {
    await setSandbox(t.http, 'payoneer', { settleAfterMs: 600_000 });
    const { id, attemptId } = await routedPayout('234.00');
    try {
      await sendJob(id, attemptId);
      await pipeline.settle({ payoutId: id, attemptId }, { finalTry: true });
      const first = await slowPoll(attemptId);
      const asked = jest.spyOn(t.app.get(ConnectorRegistry).get('payoneer'), 'getStatus');
      try {
        // The poll comes due twice: its delayed job, and the sweeper's for the same due time. Neither is a last
        // try, and neither polls again shortly: each asks the provider once.
        const due = { payoutId: id, attemptId, pollDueAtMs: first.dueAtMs };
        await Promise.all([pipeline.settle(due), pipeline.settle(due)]);
        expect(asked).toHaveBeenCalledTimes(2);
      } finally {
        asked.mockRestore();
      }
      // Only one of them moved the poll on: one next poll, queued once.
      const next = await slowPoll(attemptId);
      expect(next.dueAtMs).toBeGreaterThan(first.dueAtMs);
      expect((await slowPollJobs(attemptId)).map((job) => job.dueAtMs)).toEqual([
        first.dueAtMs,
        next.dueAtMs,
      ]);
      // A late job of a poll already moved on, or a second hand-over from quick polls, queues nothing more.
      await pipeline.settle({ payoutId: id, attemptId, pollDueAtMs: first.dueAtMs });
      await pipeline.settle({ payoutId: id, attemptId }, { finalTry: true });
      expect((await slowPoll(attemptId)).dueAtMs).toBe(next.dueAtMs);
      expect(await slowPollJobs(attemptId)).toHaveLength(2);

      // Once the provider has settled it, the due poll books the settlement.
      await t.db.query(`UPDATE sandbox_transfers SET settles_at = clock_timestamp() WHERE payout_id = $1`, [
        id,
      ]);
      await pipeline.settle({ payoutId: id, attemptId, pollDueAtMs: next.dueAtMs });
      const [payout] = await t.db.query(`SELECT status FROM payouts WHERE id = $1`, [id]);
      expect(payout.status).toBe('settled');
    } finally {
      await removeSlowPollJobs(attemptId);
      await setSandbox(t.http, 'payoneer', { settleAfterMs: 50 });
    }
  });

  it('moves the invoice to proceeds_failed for a return that waited on an e-PRC being recorded', async () => {
    const { id, attemptId } = await routedPayout('642.00');
    await sendJob(id, attemptId);
    await settleSoon(id, attemptId);
    const [{ invoice_id: invoiceId }] = await t.db.query(`SELECT invoice_id FROM payouts WHERE id = $1`, [
      id,
    ]);
    // The e-PRC is recorded, and its transaction holds the invoice (moved to prc_issued) a while before it commits.
    const documents = t.app.get(InvoiceDocumentsService);
    const answer = documents.get.bind(documents);
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const slow = jest.spyOn(documents, 'get').mockImplementationOnce(async (...args) => {
      holding();
      await committing;
      return answer(...args);
    });
    const returnedNow = jest.spyOn(t.app.get(ConnectorRegistry).get('payoneer'), 'getStatus');
    try {
      const prc = t.app.get(InvoicesService).recordPrc(partner.id, invoiceId, {
        prcNumber: 'PRC-RACE-1',
        issuedAt: pakistanDate(new Date()),
        bank: 'Meezan Bank',
      });
      await held;
      // Meanwhile the check for a return finds the money sent back, and waits for the invoice's lock.
      returnedNow.mockResolvedValue({
        state: 'returned',
        transferId: 'tr-race',
        settledAt: new Date(),
        returnedAt: new Date(),
        reason: 'beneficiary account closed',
      });
      const check = pipeline.settle({ payoutId: id, attemptId, returnCheck: 0 });
      await waitFor(
        async () =>
          (
            await t.db.query(
              `SELECT 1 FROM pg_stat_activity
               WHERE wait_event_type = 'Lock' AND query LIKE '%FROM invoices%FOR UPDATE%'`,
            )
          ).length > 0,
        { what: 'the return to wait for the invoice' },
      );
      commit();
      await prc;
      await check;
    } finally {
      commit();
      slow.mockRestore();
      returnedNow.mockRestore();
    }
    const [payout] = await t.db.query(`SELECT status FROM payouts WHERE id = $1`, [id]);
    expect(payout.status).toBe('returned');
    const history = await t.db.query(
      `SELECT status FROM invoice_status_events WHERE invoice_id = $1 ORDER BY id`,
      [invoiceId],
    );
    expect(history.map((h: { status: string }) => h.status)).toEqual([
      'awaiting_proceeds',
      'proceeds_realized',
      'prc_issued',
      'proceeds_failed',
    ]);
    const [invoice] = await t.db.query(`SELECT export_status FROM invoices WHERE id = $1`, [invoiceId]);
    expect(invoice.export_status).toBe('proceeds_failed');
  });

  it('keeps the last check for a return due when the provider does not answer it, and books the return on its retry', async () => {
    // Settles 300 ms after acceptance and comes back 300 ms later.
    await setSandbox(t.http, 'payoneer', { settleAfterMs: 300, returnRate: 1 });
    try {
      const { id, attemptId } = await routedPayout('640.00');
      await sendJob(id, attemptId);
      await settleSoon(id, attemptId);
      // Once the return has happened at the provider, the one check for it finds the provider not answering.
      await waitFor(
        async () => {
          const [row] = await t.db.query(
            `SELECT returns_at <= clock_timestamp() AS returned FROM sandbox_transfers WHERE payout_id = $1`,
            [id],
          );
          return row.returned === true;
        },
        { what: 'the transfer to come back at the provider' },
      );
      const connector = t.app.get(ConnectorRegistry).get('payoneer');
      const down = jest
        .spyOn(connector, 'getStatus')
        .mockRejectedValueOnce(new Error('payoneer status API unavailable'));
      try {
        await pipeline.settle({ payoutId: id, attemptId, returnCheck: 0 }).catch((error: unknown) => {
          if (!(error instanceof RetryLater)) throw error;
        });
      } finally {
        down.mockRestore();
      }
      const [due] = await t.db.query(`SELECT return_check FROM payout_attempts WHERE id = $1`, [attemptId]);
      expect(due.return_check).toBe(0);
      // The check runs again (its job's retry, or the sweeper's for a check overdue in Postgres) and sees the return.
      await pipeline.settle({ payoutId: id, attemptId, returnCheck: 0 });
      const [payout] = await t.db.query(`SELECT status FROM payouts WHERE id = $1`, [id]);
      expect(payout.status).toBe('returned');
      const kinds: { kind: string }[] = await t.db.query(
        `SELECT kind FROM ledger_entries WHERE payout_id = $1 ORDER BY seq`,
        [id],
      );
      expect(kinds.map((k) => k.kind)).toEqual(['routed', 'sent', 'settled', 'returned']);
    } finally {
      await setSandbox(t.http, 'payoneer', { settleAfterMs: 50, returnRate: 0 });
    }
  });
});
