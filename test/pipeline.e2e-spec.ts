import { ProviderHealthService } from '../src/routing/provider-health.service';
import { randomUUID } from 'node:crypto';
import { ConnectorRegistry } from '../src/payouts/connectors/connector-registry';
import {
  addAccount,
  bearer,
  createFreelancer,
  createPartner,
  ops,
  pakistaniIban,
  startApp,
  TestApp,
  unique,
  waitFor,
} from './support/app';
import { PayoutPipelineService } from '../src/payouts/payout-pipeline.service';
import { announcePayout, Connection, createConnection } from './support/webhooks';
import { DataSource } from 'typeorm';
import { MetricsService } from '../src/ops/metrics.service';
import { GAUGE_REFRESH_MIN_MS, StateGauges } from '../src/ops/state-gauges.service';
import { getQueueToken } from '@nestjs/bullmq';
import { QUEUES } from '../src/queues/queues';
import { PayoutQueues } from '../src/queues/payout-queues.service';
import { commitOnceBlocked } from './support/held-transaction';
import { StoppedClock } from './support/movable-clock';
import { expectProblem } from './support/problem';
import {
  Payout,
  payoutWhen as payoutAt,
  resetSandbox,
  sendUnderWay,
  setSandbox,
  transferProviders,
} from './support/payouts';

describe('payout pipeline (e2e, workers in process)', () => {
  let t: TestApp;
  let partner: { id: string; apiKey: string };
  let connection: Connection;

  beforeAll(async () => {
    t = await startApp(
      {
        SANDBOX_SETTLE_AFTER_MS: '50',
        SWEEP_INTERVAL_MS: '200',
        SWEEP_STALE_AFTER_MS: '1500',
        RETURN_CHECK_DELAY_MS: '300',
        BREAKER_FAILURE_THRESHOLD: '1000',
        SEND_TIMEOUT_MS: '2500',
      },
      { role: 'all' },
    );
    partner = await createPartner(t.http);
    connection = await createConnection(t.http, partner.apiKey, 'upwork');
  });

  afterEach(async () => {
    // Whatever a test set, and however it ended, the next test (and suite) starts on the happy path.
    await resetSandbox(t.http);
  });

  afterAll(async () => {
    await t.close();
  });

  function announce(freelancerRef: string, amount: string): Promise<string> {
    return announcePayout(t, connection, freelancerRef, amount);
  }

  /** Sends the sandbox received for a payout (every attempt), and the transfers it actually made. */
  async function sandboxCalls(payoutId: string): Promise<number> {
    const [row] = await t.db.query(
      `SELECT coalesce(sum(calls), 0)::int AS n FROM sandbox_send_calls WHERE idempotency_key LIKE $1 || ':%'`,
      [payoutId],
    );
    return row.n;
  }

  async function sandboxTransfers(payoutId: string): Promise<number> {
    const [row] = await t.db.query(`SELECT count(*)::int AS n FROM sandbox_transfers WHERE payout_id = $1`, [
      payoutId,
    ]);
    return row.n;
  }

  function payoutWhen(id: string, statuses: string[]): Promise<Payout> {
    return payoutAt(t, partner.apiKey, id, statuses);
  }

  async function trialBalanceIsBalanced(): Promise<void> {
    const res = await t.http.get('/v1/ops/ledger/trial-balance').set(ops).expect(200);
    expect(res.body.currencies.map((c: { currency: string }) => c.currency)).toContain('USD');
    for (const c of res.body.currencies) expect(c.debits).toBe(c.credits);
  }

  it('routes a signed webhook to the cheapest route, settles it, books it and issues the invoice', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announce(freelancer.externalRef, '1250.00');
    const payout = await payoutWhen(id, ['settled']);

    expect(payout.route?.routeId).toBe('upwork-payoneer-usd');
    expect(payout.fees).toEqual({
      fixed: '2.00',
      percent: '37.50',
      fx: '0.00',
      intermediary: '0.00',
      total: '39.50',
    });
    expect(payout.net).toBe('1210.50');
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'settled' }),
    ]);
    expect(payout.timeline.map((s) => s.status)).toEqual(['received', 'routed', 'sending', 'settled']);
    expect(payout.candidates.map((c) => c.routeId)).toEqual(['upwork-payoneer-usd', 'upwork-wire-usd']);
    expect(payout.rejected).toEqual(
      expect.arrayContaining([{ routeId: 'upwork-local-bank-pkr', reason: expect.stringMatching(/pkr/i) }]),
    );
    expect(payout.invoiceId).toEqual(expect.any(String));

    const balance = await t.http
      .get(`/v1/freelancers/${freelancer.id}/balance`)
      .set(bearer(partner.apiKey))
      .expect(200);
    expect(balance.body).toEqual({
      currency: 'USD',
      settled: '1210.50',
      inTransit: '0.00',
      returned: '0.00',
    });
    const invoice = await waitFor(async () => {
      const res = await t.http
        .get(`/v1/invoices/${payout.invoiceId}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      return res.body.exportStatus === 'proceeds_realized' ? res.body : null;
    });
    expect(invoice.netRealized).toBe('1210.50');
    expect(await sandboxTransfers(id)).toBe(1);
    await trialBalanceIsBalanced();
  });

  it('changes nothing when the jobs of a finished payout run again', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announce(freelancer.externalRef, '333.00');
    const before = await payoutWhen(id, ['settled']);
    const [attempt] = await t.db.query(`SELECT id FROM payout_attempts WHERE payout_id = $1`, [id]);
    const entries = async () =>
      (await t.db.query(`SELECT count(*)::int AS n FROM ledger_entries WHERE payout_id = $1`, [id]))[0].n;
    const booked = await entries();
    const pipeline = t.app.get(PayoutPipelineService);
    await pipeline.route(id);
    await pipeline.send(id, attempt.id, false);
    await pipeline.settle({ payoutId: id, attemptId: attempt.id });
    await expect(
      t.db.transaction((tx) => pipeline.transition(tx, id, 'sending', 'a late job')),
    ).resolves.toBe(false);
    await expect(t.db.transaction((tx) => pipeline.transition(tx, id, 'failed', 'a late job'))).resolves.toBe(
      false,
    );
    const after = await payoutWhen(id, ['settled']);
    expect(after.timeline).toEqual(before.timeline);
    expect(after.attempts).toEqual(before.attempts);
    expect(await entries()).toBe(booked);
    expect(await sandboxTransfers(id)).toBe(1);
  });

  it('routes to the new default when the account it read is closed before its routing commits', async () => {
    const ref = unique('fl-closing');
    const id = await announce(ref, '410.00');
    await payoutWhen(id, ['unmatched']);
    const freelancer = await createFreelancer(t.http, partner.apiKey, { externalRef: ref });
    const [old] = await t.db.query(`SELECT id FROM dollar_accounts WHERE freelancer_id = $1`, [
      freelancer.id,
    ]);
    const added = await addAccount(t.http, partner.apiKey, freelancer.id, {
      institution: 'HBL',
      iban: pakistaniIban('7000000000000077', 'HABB'),
      title: 'A',
    });

    // The partner moves the default and closes the old account in a transaction that commits only once the
    // routing has read the old default and waits at its share lock on it.
    await commitOnceBlocked(
      t.db,
      [
        [`UPDATE dollar_accounts SET is_default = false WHERE id = $1`, [old.id]],
        [`UPDATE dollar_accounts SET is_default = true WHERE id = $1`, [added.id]],
        [`UPDATE dollar_accounts SET closed_at = now() WHERE id = $1`, [old.id]],
      ],
      () => t.app.get(PayoutPipelineService).route(id),
      'the routing to wait for the closing account',
    );
    const [routed] = await t.db.query(`SELECT account_id FROM payouts WHERE id = $1`, [id]);
    expect(routed.account_id).toBe(added.id);
    expect((await payoutWhen(id, ['settled'])).status).toBe('settled');
    const transfers = await t.db.query(
      `SELECT beneficiary_iban FROM sandbox_transfers WHERE payout_id = $1`,
      [id],
    );
    expect(transfers).toEqual([{ beneficiary_iban: added.iban }]);
  });

  it('fails over to the next-ranked route when the first provider rejects for good', async () => {
    await setSandbox(t.http, 'payoneer', { permanentFailureRate: 1 });
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announce(freelancer.externalRef, '1250.00');
      const payout = await payoutWhen(id, ['settled', 'failed']);
      expect(payout.status).toBe('settled');
      expect(payout.attempts).toEqual([
        expect.objectContaining({
          routeId: 'upwork-payoneer-usd',
          status: 'failed',
          error: expect.any(String),
        }),
        expect.objectContaining({ routeId: 'upwork-wire-usd', status: 'settled' }),
      ]);
      expect(payout.route?.routeId).toBe('upwork-wire-usd');
      expect(payout.net).toBe('1200.00');
      const balance = await t.http
        .get(`/v1/freelancers/${freelancer.id}/balance`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(balance.body.settled).toBe('1200.00');
      await trialBalanceIsBalanced();
    } finally {
      await setSandbox(t.http, 'payoneer', { permanentFailureRate: 0 });
    }
  });

  it('pays a routed payout to the account it was routed for when the default changes before its failover', async () => {
    // Payoneer takes its time and then rejects: the failover's send is a job of its own, which reads the payee again.
    await setSandbox(t.http, 'payoneer', { permanentFailureRate: 1, latencyMs: 1500 });
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announce(freelancer.externalRef, '1250.00');
      await sendUnderWay(t, id);
      const newIban = pakistaniIban('7000000000000042', 'MEZN');
      await t.http
        .post(`/v1/freelancers/${freelancer.id}/accounts`)
        .set(bearer(partner.apiKey))
        .send({
          kind: 'bank_fcy',
          institution: 'Bank Alfalah',
          iban: newIban,
          title: 'Ayesha Khan',
          isDefault: true,
        })
        .expect(201);
      // The default moved while the first send was still on its way, so the failover comes after it.
      const [first] = await t.db.query(
        `SELECT status FROM payout_attempts WHERE payout_id = $1 AND seq = 1`,
        [id],
      );
      expect(first.status).toBe('pending');
      const payout = await payoutWhen(id, ['settled', 'failed']);
      expect(payout.attempts.map((a) => [a.routeId, a.status])).toEqual([
        ['upwork-payoneer-usd', 'failed'],
        ['upwork-wire-usd', 'settled'],
      ]);
      const paidTo = (payoutId: string) =>
        t.db.query(`SELECT beneficiary_iban AS iban FROM sandbox_transfers WHERE payout_id = $1`, [payoutId]);
      expect(await paidTo(id)).toEqual([{ iban: 'PK36SCBL0000001123456702' }]);

      await setSandbox(t.http, 'payoneer', { permanentFailureRate: 0, latencyMs: 0 });
      const next = await announce(freelancer.externalRef, '1250.00');
      expect((await payoutWhen(next, ['settled', 'failed'])).status).toBe('settled');
      expect(await paidTo(next)).toEqual([{ iban: newIban }]);
    } finally {
      await setSandbox(t.http, 'payoneer', { permanentFailureRate: 0, latencyMs: 0 });
    }
  });

  it('prints a freelancer’s changed name on the invoices of payouts routed after the change only', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const exporterName = async (payoutId: string) => {
      const payout = await payoutWhen(payoutId, ['settled', 'failed']);
      const res = await t.http
        .get(`/v1/invoices/${payout.invoiceId}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      return res.body.exporter.name;
    };
    const before = await announce(freelancer.externalRef, '300.00');
    expect(await exporterName(before)).toBe('Ayesha Khan');
    await t.http
      .patch(`/v1/freelancers/${freelancer.id}`)
      .set(bearer(partner.apiKey))
      .send({ name: 'Ayesha Khan Malik' })
      .expect(200);
    const after = await announce(freelancer.externalRef, '300.00');
    expect(await exporterName(after)).toBe('Ayesha Khan Malik');
    expect(await exporterName(before)).toBe('Ayesha Khan');
  });

  it('never routes to or pays through a provider that ops disabled', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
    try {
      const id = await announce(freelancer.externalRef, '1250.00');
      const payout = await payoutWhen(id, ['settled', 'failed']);
      expect(payout.route?.routeId).toBe('upwork-wire-usd');
      expect(payout.candidates.map((c) => c.routeId)).toEqual(['upwork-wire-usd']);
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM sandbox_transfers WHERE payout_id = $1 AND provider_id = 'payoneer'`,
        [id],
      );
      expect(n).toBe(0);
    } finally {
      await t.http.post('/v1/ops/providers/payoneer/enable').set(ops).expect(200);
    }
  });

  it('fails the payout, reverses its booking and fails the invoice when every route fails', async () => {
    await setSandbox(t.http, 'payoneer', { permanentFailureRate: 1 });
    await setSandbox(t.http, 'upwork', { permanentFailureRate: 1 });
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announce(freelancer.externalRef, '300.00');
      const payout = await payoutWhen(id, ['settled', 'failed']);
      expect(payout.status).toBe('failed');
      expect(payout.attempts.map((a) => a.status)).toEqual(['failed', 'failed']);
      // Nothing was charged or netted, as the payout.failed event says too.
      expect({ fees: payout.fees, net: payout.net }).toEqual({ fees: null, net: null });
      const balance = await t.http
        .get(`/v1/freelancers/${freelancer.id}/balance`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(balance.body).toEqual({ currency: 'USD', settled: '0.00', inTransit: '0.00', returned: '0.00' });
      const invoice = await t.http
        .get(`/v1/invoices/${payout.invoiceId}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(invoice.body.exportStatus).toBe('proceeds_failed');
      // Ops find it among the payouts that need a person, across partners or for this one.
      for (const query of ['status=failed', `status=failed&partnerId=${partner.id}`]) {
        const listed = await t.http.get(`/v1/ops/payouts?${query}&limit=100`).set(ops).expect(200);
        expect(listed.body.data).toContainEqual(
          expect.objectContaining({
            id,
            partnerId: partner.id,
            status: 'failed',
            failureReason: expect.any(String),
          }),
        );
      }
      const otherPartner = await t.http
        .get(`/v1/ops/payouts?status=failed&partnerId=${randomUUID()}`)
        .set(ops)
        .expect(200);
      expect(otherPartner.body.data).toEqual([]);
      expectProblem(await t.http.get('/v1/ops/payouts').set(bearer(partner.apiKey)), 401);
      expectProblem(await t.http.get('/v1/ops/payouts?status=lost').set(ops), 400);
      // Across partners only what needs a person: any status would scan every payout on every page.
      for (const query of ['', '?status=settled']) {
        const refused = await t.http.get(`/v1/ops/payouts${query}`).set(ops);
        expectProblem(refused, 400);
        expect(refused.body.errors).toEqual([expect.objectContaining({ field: 'status' })]);
      }
      // One partner's payouts, whatever their status.
      const own = await t.http.get(`/v1/ops/payouts?partnerId=${partner.id}&limit=100`).set(ops).expect(200);
      expect(own.body.data.map((p: { id: string }) => p.id)).toContain(id);
      await trialBalanceIsBalanced();
    } finally {
      await setSandbox(t.http, 'payoneer', { permanentFailureRate: 0 });
      await setSandbox(t.http, 'upwork', { permanentFailureRate: 0 });
    }
  });

  it('routes a failed payout again on ops retry, fails over within the new round, and books it afresh', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    await setSandbox(t.http, 'payoneer', { permanentFailureRate: 1 });
    await setSandbox(t.http, 'upwork', { permanentFailureRate: 1 });
    try {
      const id = await announce(freelancer.externalRef, '250.00');
      const failed = await payoutWhen(id, ['settled', 'failed']);
      expect(failed).toEqual(
        expect.objectContaining({ status: 'failed', failureReason: expect.stringContaining('every') }),
      );
      const invoiceStatus = async () =>
        (await t.http.get(`/v1/invoices/${failed.invoiceId}`).set(bearer(partner.apiKey)).expect(200)).body;
      expect((await invoiceStatus()).exportStatus).toBe('proceeds_failed');
      expect(failed.earlierDecisions).toEqual([]);
      const [{ account_id: accountId }] = await t.db.query(`SELECT account_id FROM payouts WHERE id = $1`, [
        id,
      ]);

      await setSandbox(t.http, 'upwork', { permanentFailureRate: 0 });
      const retried = await t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops).expect(200);
      expect(['routed', 'sending', 'settled']).toContain(retried.body.status);
      // What it failed of no longer stands, and the invoice awaits the proceeds again.
      expect(retried.body.failureReason).toBeNull();
      expect((await invoiceStatus()).exportStatus).not.toBe('proceeds_failed');
      const payout = await payoutWhen(id, ['settled', 'failed']);
      expect(payout.status).toBe('settled');
      expect(payout.failureReason).toBeNull();
      expect(payout.attempts.map((a) => [a.routeId, a.status])).toEqual([
        ['upwork-payoneer-usd', 'failed'],
        ['upwork-wire-usd', 'failed'],
        ['upwork-payoneer-usd', 'failed'],
        ['upwork-wire-usd', 'settled'],
      ]);
      expect(payout.timeline.map((s) => s.status)).toEqual(
        expect.arrayContaining(['failed', 'received', 'routed', 'settled']),
      );
      // The first round's decision, which its two failed attempts were chosen from, is still shown.
      expect(payout.earlierDecisions).toEqual([
        {
          decidedAt: expect.any(String),
          replacedAt: expect.any(String),
          accountId,
          accountKind: 'bank_fcy',
          chosen: 'upwork-payoneer-usd',
          candidates: failed.candidates,
          rejected: failed.rejected,
          standby: [],
        },
      ]);
      expect(Date.parse(payout.earlierDecisions[0].replacedAt)).toBeGreaterThan(
        Date.parse(payout.earlierDecisions[0].decidedAt),
      );
      await expect(
        t.db.query(`DELETE FROM payout_earlier_decisions WHERE payout_id = $1`, [id]),
      ).rejects.toThrow(/kept as they were/);
      const balance = await t.http
        .get(`/v1/freelancers/${freelancer.id}/balance`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(balance.body).toEqual({
        currency: 'USD',
        settled: '200.00',
        inTransit: '0.00',
        returned: '0.00',
      });
      const invoice = await waitFor(async () => {
        const res = await t.http
          .get(`/v1/invoices/${payout.invoiceId}`)
          .set(bearer(partner.apiKey))
          .expect(200);
        return res.body.exportStatus === 'proceeds_realized' ? res.body : null;
      });
      expect(invoice.netRealized).toBe('200.00');
      expect(invoice.statusHistory.map((h: { status: string }) => h.status)).toEqual([
        'awaiting_proceeds',
        'proceeds_failed',
        'awaiting_proceeds',
        'proceeds_realized',
      ]);
      await trialBalanceIsBalanced();
    } finally {
      await setSandbox(t.http, 'payoneer', { permanentFailureRate: 0 });
      await setSandbox(t.http, 'upwork', { permanentFailureRate: 0 });
    }
  });

  it('retries transient failures on the same route, then settles with one transfer', async () => {
    await setSandbox(t.http, 'payoneer', { transientFailureRate: 1 });
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announce(freelancer.externalRef, '200.00');
    await waitFor(async () => (await sandboxCalls(id)) >= 2, { what: 'a retried send' });
    await setSandbox(t.http, 'payoneer', { transientFailureRate: 0 });
    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'settled' }),
    ]);
    expect(await sandboxTransfers(id)).toBe(1);
  });

  it('resolves a timeout by asking the provider, and never sends a second transfer', async () => {
    await setSandbox(t.http, 'payoneer', { timeoutRate: 1 });
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announce(freelancer.externalRef, '500.00');
    await waitFor(async () => (await sandboxCalls(id)) >= 1, { what: 'the first (timed-out) send' });
    await setSandbox(t.http, 'payoneer', { timeoutRate: 0 });
    const payout = await payoutWhen(id, ['settled', 'failed']);
    expect(payout.status).toBe('settled');
    expect(payout.attempts).toHaveLength(1);
    expect(await sandboxTransfers(id)).toBe(1);
  });

  /**
   * The sandbox answers a repeated key with the transfer it already made, so counting transfers cannot tell a
   * retry that asked the provider first from one that sent the key again blind. What tells them apart is the
   * number of send calls: where the one timed-out call so far did create the transfer (half the sandbox's
   * timeouts do), the retry must find it by status lookup and never call send again.
   */
  it('asks the provider about a timed-out send before sending its key again: a send that landed is never repeated', async () => {
    const landed: string[] = [];
    await setSandbox(t.http, 'payoneer', { timeoutRate: 1 });
    try {
      const ids = await Promise.all(
        Array.from({ length: 16 }, async () => {
          const freelancer = await createFreelancer(t.http, partner.apiKey);
          return announce(freelancer.externalRef, '500.00');
        }),
      );
      for (const id of ids) {
        await waitFor(async () => (await sandboxCalls(id)) >= 1, { what: 'the first (timed-out) send' });
      }
      // One snapshot: a call and the transfer it makes commit together in the sandbox.
      for (const id of ids) {
        const [row] = await t.db.query(
          `SELECT (SELECT coalesce(sum(calls), 0)::int FROM sandbox_send_calls WHERE idempotency_key LIKE $1 || ':%') AS calls,
                  (SELECT count(*)::int FROM sandbox_transfers WHERE payout_id = $1) AS transfers`,
          [id],
        );
        if (row.calls === 1 && row.transfers === 1) landed.push(id);
      }
    } finally {
      await setSandbox(t.http, 'payoneer', { timeoutRate: 0 });
    }
    expect(landed.length).toBeGreaterThan(0);
    for (const id of landed) {
      const payout = await payoutWhen(id, ['settled', 'failed']);
      expect(payout.status).toBe('settled');
      expect(payout.attempts).toHaveLength(1);
      expect(await sandboxCalls(id)).toBe(1);
    }
  });

  /**
   * Announces a payout of 1250.00 with payoneer this slow, disables payoneer once the send is under way, and answers
   * the finished payout with the providers its money moved through. Payoneer is back on afterwards.
   */
  async function disablePayoneerMidSend(latencyMs: number) {
    await setSandbox(t.http, 'payoneer', { latencyMs });
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    try {
      const id = await announce(freelancer.externalRef, '1250.00');
      await sendUnderWay(t, id);
      await t.http.post('/v1/ops/providers/payoneer/disable').set(ops).expect(200);
      const payout = await payoutWhen(id, ['settled', 'failed']);
      return { payout, transfers: await transferProviders(t, id) };
    } finally {
      await t.http.post('/v1/ops/providers/payoneer/enable').set(ops).expect(200);
      await setSandbox(t.http, 'payoneer', { latencyMs: 0 });
    }
  }

  it('never fails over from a send still under way when ops disable its provider: the money moves once', async () => {
    // Slower than the sweeper's staleness (1.5 s): the sweeper queues the send again while the first is in flight.
    const { payout, transfers } = await disablePayoneerMidSend(2000);
    expect(payout.status).toBe('settled');
    expect(payout.attempts).toEqual([
      expect.objectContaining({ routeId: 'upwork-payoneer-usd', status: 'settled' }),
    ]);
    expect(transfers).toEqual([{ provider_id: 'payoneer' }]);
    await trialBalanceIsBalanced();
  });

  it('sends one attempt once at a time: a send queued again while the first is still on its way waits for it', async () => {
    // Slower than the sweeper's staleness (1.5 s): the sweeper queues the send again while the first is in flight.
    // The sandbox answers a repeated key with the same transfer, so only its count of send calls shows a second send.
    await setSandbox(t.http, 'payoneer', { latencyMs: 2000 });
    // Counted as each call starts (the sandbox counts a call once its latency is over).
    const sends = jest.spyOn(t.app.get(ConnectorRegistry).get('payoneer'), 'send');
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announce(freelancer.externalRef, '1250.00');
      const payout = await payoutWhen(id, ['settled', 'failed']);
      expect(payout.status).toBe('settled');
      expect(payout.attempts).toHaveLength(1);
      expect(sends.mock.calls.filter(([request]) => request.payoutId === id)).toHaveLength(1);
    } finally {
      sends.mockRestore();
      await setSandbox(t.http, 'payoneer', { latencyMs: 0 });
    }
  });

  it('fails over from a disabled provider once a timed-out send can no longer arrive there', async () => {
    // Slower than the send timeout (2.5 s): the send is abandoned and never reaches the provider.
    const { payout, transfers } = await disablePayoneerMidSend(4000);
    expect(payout.status).toBe('settled');
    expect(payout.attempts).toEqual([
      expect.objectContaining({
        routeId: 'upwork-payoneer-usd',
        status: 'failed',
        error: expect.stringContaining('nothing arrived'),
      }),
      expect.objectContaining({ routeId: 'upwork-wire-usd', status: 'settled' }),
    ]);
    expect(transfers).toEqual([{ provider_id: 'upwork' }]);
    await trialBalanceIsBalanced();
  });

  it('keeps an unknown freelancer unmatched until ops retry after the partner registers them', async () => {
    const ref = unique('late');
    const id = await announce(ref, '75.00');
    await payoutWhen(id, ['unmatched']);
    const events = await t.http.get('/v1/ops/events?status=unmatched').set(ops).expect(200);
    expect(events.body.data.map((e: { payoutId: string }) => e.payoutId)).toContain(id);
    await t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops).expect(200);
    expect((await payoutWhen(id, ['unmatched'])).status).toBe('unmatched');

    await createFreelancer(t.http, partner.apiKey, { externalRef: ref });
    const retried = await t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops).expect(200);
    expect(['routed', 'sending', 'settled']).toContain(retried.body.status);
    expect((await payoutWhen(id, ['settled'])).status).toBe('settled');
  });

  it('fails a matched payout that no route can carry, keeping its freelancer and no route', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey, {}, null);
    await t.http
      .post(`/v1/freelancers/${freelancer.id}/accounts`)
      .set(bearer(partner.apiKey))
      .send({ kind: 'fintech_usd', institution: 'Zindigi', iban: 'PK36SCBL0000001123456702', title: 'A' })
      .expect(201);
    const id = await announce(freelancer.externalRef, '50.00');
    const payout = await payoutWhen(id, ['failed']);
    expect(payout).toEqual(
      expect.objectContaining({ freelancerId: freelancer.id, route: null, fees: null, net: null }),
    );
    expect(payout.candidates).toEqual([]);
    const listed = await t.http
      .get(`/v1/payouts?freelancerId=${freelancer.id}`)
      .set(bearer(partner.apiKey))
      .expect(200);
    expect(listed.body.data.map((p: Payout) => p.id)).toEqual([id]);
  });

  it('lets one of several ops retries of a payout at once run it, and refuses the others with 409', async () => {
    const ref = unique('twice');
    const id = await announce(ref, '75.00');
    await payoutWhen(id, ['unmatched']);
    await createFreelancer(t.http, partner.apiKey, { externalRef: ref });
    // Each retry reads the payout as unmatched, then waits for the row the lock holds: they all move it at once.
    const held = t.db.createQueryRunner();
    await held.connect();
    await held.startTransaction();
    let answers: { status: number; body: { status?: string } }[];
    try {
      await held.query(`SELECT 1 FROM payouts WHERE id = $1 FOR UPDATE`, [id]);
      const retries = Promise.all(
        Array.from({ length: 3 }, () => t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops)),
      );
      await waitFor(
        async () => {
          // The first waits for the held lock, the others queue behind it.
          const [{ n }] = await t.db.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE '%UPDATE payouts SET status%'
               AND cardinality(pg_blocking_pids(pid)) > 0`,
          );
          return n === 3;
        },
        { what: 'the three retries to wait for the payout row' },
      );
      await held.commitTransaction();
      answers = await retries;
    } finally {
      if (held.isTransactionActive) await held.rollbackTransaction();
      await held.release();
    }
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect((refused.body as { detail: string }).detail).toMatch(
        /^Another retry of this payout moved it first/,
      );
    }
    const payout = await payoutWhen(id, ['settled']);
    expect(payout.timeline.filter((s) => s.status === 'received')).toHaveLength(2);
  });

  it('refuses to retry a payout that is neither unmatched nor failed', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announce(freelancer.externalRef, '60.00');
    await payoutWhen(id, ['settled']);
    const res = await t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops);
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });

  it('books a late return as a reversal', async () => {
    await setSandbox(t.http, 'payoneer', { returnRate: 1 });
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announce(freelancer.externalRef, '400.00');
      const payout = await payoutWhen(id, ['returned']);
      expect(payout.timeline.map((s) => s.status)).toEqual([
        'received',
        'routed',
        'sending',
        'settled',
        'returned',
      ]);
      const balance = await t.http
        .get(`/v1/freelancers/${freelancer.id}/balance`)
        .set(bearer(partner.apiKey))
        .expect(200);
      // The net is no longer settled: it is held for the freelancer as returned.
      expect(balance.body).toEqual({
        currency: 'USD',
        settled: '0.00',
        inTransit: '0.00',
        returned: payout.net,
      });
      await trialBalanceIsBalanced();
      const events: { type: string; payload: Record<string, unknown> }[] = await t.db.query(
        `SELECT type, payload FROM partner_events WHERE payload->>'payoutId' = $1 AND type LIKE 'payout.%' ORDER BY source_id`,
        [id],
      );
      expect(events.map((e) => e.type)).toEqual(['payout.settled', 'payout.returned']);
      expect(events[1].payload).toMatchObject({
        payoutId: id,
        status: 'returned',
        failureReason: expect.stringMatching(/^returned: /),
      });
    } finally {
      await setSandbox(t.http, 'payoneer', { returnRate: 0 });
    }
  });

  it('gives a returned payout back to its platform when ops say so, and books it once', async () => {
    await setSandbox(t.http, 'payoneer', { returnRate: 1 });
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announce(freelancer.externalRef, '450.00');
      const returned = await payoutWhen(id, ['returned']);
      const refund = (body: unknown) =>
        t.http
          .post(`/v1/ops/payouts/${id}/refund`)
          .set(ops)
          .send(body as object);

      await t.http
        .post(`/v1/ops/payouts/${id}/refund`)
        .set(bearer(partner.apiKey))
        .send({ reference: 'R-1' })
        .expect(401);
      for (const body of [{}, { reference: '   ' }, { reference: 'x'.repeat(201) }, { reference: 7 }]) {
        const bad = await refund(body);
        expectProblem(bad, 400);
        expect(new Set(bad.body.errors.map((e: { field: string }) => e.field))).toEqual(
          new Set(['reference']),
        );
      }
      expect((await payoutWhen(id, ['returned'])).status).toBe('returned');

      // Two at once: one moves the payout, the other finds it moved.
      const [first, second] = await Promise.all([
        refund({ reference: ' UPW-RF-1 ' }),
        refund({ reference: 'UPW-RF-1' }),
      ]);
      expect([first.status, second.status].sort()).toEqual([200, 409]);
      const loser = first.status === 409 ? first : second;
      expect(loser.body.detail).toBe(
        "Only a returned payout's money can be given back to its platform; this one is refunded.",
      );
      const done = (first.status === 200 ? first : second).body;
      expect(done.status).toBe('refunded');
      expect(done.net).toBe(returned.net);
      expect(done.timeline.at(-1)).toEqual({
        status: 'refunded',
        at: expect.any(String),
        detail: 'given back to upwork by ops (UPW-RF-1)',
      });
      expectProblem(await refund({ reference: 'UPW-RF-1' }), 409);

      const entries = await t.http
        .get('/v1/ledger/entries')
        .query({ payoutId: id })
        .set(bearer(partner.apiKey))
        .expect(200);
      const kinds = entries.body.data.map((e: { kind: string }) => e.kind);
      expect(kinds).toEqual(['routed', 'sent', 'settled', 'returned', 'refunded']);
      expect(entries.body.data[4].lines).toEqual([
        {
          account: `freelancer_returned:${freelancer.id}`,
          side: 'debit',
          amount: returned.net,
          currency: 'USD',
        },
        { account: 'platform_refunded:upwork', side: 'credit', amount: returned.net, currency: 'USD' },
        { account: 'provider_refunded:payoneer', side: 'debit', amount: returned.net, currency: 'USD' },
        { account: 'provider_returns:payoneer', side: 'credit', amount: returned.net, currency: 'USD' },
      ]);
      const balance = await t.http
        .get(`/v1/freelancers/${freelancer.id}/balance`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(balance.body).toEqual({ currency: 'USD', settled: '0.00', inTransit: '0.00', returned: '0.00' });
      await trialBalanceIsBalanced();

      const events: { type: string }[] = await t.db.query(
        `SELECT type FROM partner_events WHERE payload->>'payoutId' = $1 AND type LIKE 'payout.%' ORDER BY source_id`,
        [id],
      );
      expect(events.map((e) => e.type)).toEqual(['payout.settled', 'payout.returned', 'payout.refunded']);
      const invoice = await t.http
        .get(`/v1/invoices/${done.invoiceId}`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(invoice.body.exportStatus).toBe('proceeds_failed');
    } finally {
      await setSandbox(t.http, 'payoneer', { returnRate: 0 });
    }
  });

  it('refunds only a returned payout', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announce(freelancer.externalRef, '70.00');
    await payoutWhen(id, ['settled']);
    const res = await t.http.post(`/v1/ops/payouts/${id}/refund`).set(ops).send({ reference: 'R-2' });
    expectProblem(res, 409);
    expect(res.body.detail).toBe(
      "Only a returned payout's money can be given back to its platform; this one is settled.",
    );
    await t.http
      .post(`/v1/ops/payouts/${randomUUID()}/refund`)
      .set(ops)
      .send({ reference: 'R-3' })
      .expect(404);
  });

  it('keeps checking a settled payout for a return, further apart each time, and books one that comes late', async () => {
    // Settles 1.2 s after acceptance and comes back 1.2 s later: after the first two checks (0.3 s and 0.9 s).
    await setSandbox(t.http, 'payoneer', { returnRate: 1, settleAfterMs: 1200 });
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announce(freelancer.externalRef, '300.00');
      await payoutWhen(id, ['settled']);
      const payout = await payoutWhen(id, ['returned']);
      expect(payout.timeline.map((s) => s.status)).toEqual([
        'received',
        'routed',
        'sending',
        'settled',
        'returned',
      ]);
      await trialBalanceIsBalanced();
    } finally {
      await setSandbox(t.http, 'payoneer', { returnRate: 0, settleAfterMs: 50 });
    }
  });

  it('books a return whose checks Redis lost: the check due is kept in Postgres and swept', async () => {
    // Settles 4 s after acceptance and would come back 4 s after that; the return waits at the provider until
    // the test has taken the queued checks away (the one statement below runs well within those 4 s).
    await setSandbox(t.http, 'payoneer', { returnRate: 1, settleAfterMs: 4000 });
    const queue = t.app.get(PayoutQueues).settle;
    let id = '';
    const returnAt = (at: string) =>
      t.db.query(`UPDATE sandbox_transfers SET returns_at = ${at} WHERE payout_id = $1`, [id]);
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      id = await announce(freelancer.externalRef, '350.00');
      const settled = await payoutWhen(id, ['settled']);
      await returnAt(`settles_at + interval '1 hour'`);
      const [attempt] = await t.db.query(
        `SELECT id, return_check, return_check_at FROM payout_attempts WHERE payout_id = $1 AND status = 'settled'`,
        [id],
      );
      expect(attempt.return_check_at).not.toBeNull();
      // Redis loses the queued checks of this transfer (as in a restart that kept nothing).
      await queue.pause();
      const ours = (jobs: { id?: string }[]) =>
        jobs.filter((job) => job.id?.startsWith(`return-check-${attempt.id}-`));
      await waitFor(async () => ours(await queue.getActive()).length === 0, { what: 'no check running' });
      const lost = ours(await queue.getJobs(['delayed', 'waiting', 'prioritized']));
      expect(lost.length).toBeGreaterThan(0);
      for (const job of lost) await queue.remove(job.id!);
      expect((await payoutWhen(id, ['settled', 'returned'])).status).toBe('settled');
      await returnAt('greatest(settles_at, clock_timestamp())');
      await queue.resume();

      const returned = await payoutWhen(id, ['returned']);
      expect(returned.timeline.map((s) => s.status)).toEqual([
        'received',
        'routed',
        'sending',
        'settled',
        'returned',
      ]);
      expect(settled.net).toBe(returned.net);
      await trialBalanceIsBalanced();
      const [done] = await t.db.query(`SELECT status FROM payout_attempts WHERE id = $1`, [attempt.id]);
      expect(done.status).toBe('returned');
    } finally {
      await queue.resume();
      await setSandbox(t.http, 'payoneer', { returnRate: 0, settleAfterMs: 50 });
    }
  });

  it('lets the queued checks of a transfer settled before checks were kept take their chain over', async () => {
    await setSandbox(t.http, 'payoneer', { returnRate: 1, settleAfterMs: 1200 });
    try {
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announce(freelancer.externalRef, '320.00');
      await payoutWhen(id, ['settled']);
      // As an attempt settled by the code before: nothing kept in Postgres, only the jobs in Redis.
      await t.db.query(
        `UPDATE payout_attempts SET return_check = NULL, return_check_at = NULL
         WHERE payout_id = $1 AND status = 'settled'`,
        [id],
      );
      await payoutWhen(id, ['returned']);
      const [attempt] = await t.db.query(
        `SELECT status, return_check FROM payout_attempts WHERE payout_id = $1 AND status = 'returned'`,
        [id],
      );
      expect(attempt.return_check).toBeGreaterThanOrEqual(0);
    } finally {
      await setSandbox(t.http, 'payoneer', { returnRate: 0, settleAfterMs: 50 });
    }
  });

  it('lists payouts by status and freelancer, and hides them from other partners', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announce(freelancer.externalRef, '90.00');
    await payoutWhen(id, ['settled']);
    const list = await t.http
      .get(`/v1/payouts?status=settled&freelancerId=${freelancer.id}`)
      .set(bearer(partner.apiKey))
      .expect(200);
    expect(list.body.data.map((p: Payout) => p.id)).toEqual([id]);
    const other = await createPartner(t.http);
    await t.http.get(`/v1/payouts/${id}`).set(bearer(other.apiKey)).expect(404);
    const otherList = await t.http.get('/v1/payouts').set(bearer(other.apiKey)).expect(200);
    expect(otherList.body.data).toEqual([]);
    const bad = await t.http.get('/v1/payouts?status=lost').set(bearer(partner.apiKey)).expect(400);
    expect(bad.body.errors[0].field).toBe('status');
  });

  it('exposes payouts by status, queue depth, attempts and chosen routes as Prometheus metrics', async () => {
    const res = await t.http.get('/metrics').expect(200);
    expect(res.text).toMatch(/payouts_by_status\{status="settled"\} [1-9]/);
    for (const queue of ['route-payout', 'send-payout', 'settle-payout', 'partner-webhooks'])
      expect(res.text).toMatch(new RegExp(`queue_jobs\\{queue="${queue}",state="waiting"\\} \\d+`));
    expect(res.text).toMatch(/payout_attempts_total\{provider="payoneer",outcome="accepted"\} [1-9]/);
    expect(res.text).toMatch(/route_chosen_total\{route="upwork-payoneer-usd"\} [1-9]/);
    expect(res.text).toMatch(/job_duration_seconds_count\{queue="route-payout"\} [1-9]/);
    expect(res.text).toMatch(/job_wait_seconds_count\{queue="route-payout"\} [1-9]/);
  });

  it('counts the chosen route once for each payout routed', async () => {
    const chosen = async (route: string) =>
      (await t.app.get(MetricsService).routeChosen.get()).values.find((v) => v.labels.route === route)
        ?.value ?? 0;
    const before = await chosen('upwork-payoneer-usd');
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const payout = await payoutWhen(await announce(freelancer.externalRef, '1250.00'), ['settled']);
    expect(payout.route?.routeId).toBe('upwork-payoneer-usd');
    expect((await chosen('upwork-payoneer-usd')) - before).toBe(1);
  });

  it('counts payouts for /metrics at most once a second, however many scrapes arrive', async () => {
    // A reader of its own, so no earlier scrape of this app has a reading to serve; its clock moves only when told.
    const clock = new StoppedClock();
    const gauges = new StateGauges(
      t.app.get(DataSource),
      t.app.get(PayoutQueues),
      t.app.get(MetricsService),
      clock,
      t.app.get(ProviderHealthService),
      t.app.get(getQueueToken(QUEUES.partnerWebhooks)),
    );
    const query = jest.spyOn(t.app.get(DataSource), 'query');
    const counts = () =>
      query.mock.calls.filter(([sql]) => String(sql).includes('FROM payouts GROUP BY status')).length;
    try {
      await Promise.all(Array.from({ length: 20 }, () => gauges.refresh()));
      await gauges.refresh();
      expect(counts()).toBe(1);
      clock.advance(GAUGE_REFRESH_MIN_MS - 1);
      await gauges.refresh();
      expect(counts()).toBe(1);
      clock.advance(1);
      await Promise.all(Array.from({ length: 20 }, () => gauges.refresh()));
      expect(counts()).toBe(2);
    } finally {
      query.mockRestore();
    }
  });

  it('guards the queue dashboard with the ops token', async () => {
    await t.http.get('/admin/queues').expect(401);
    const res = await t.http.get('/admin/queues').set(ops);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<');
  });

  it('shows the queues read-only: no job added, retried or paused by hand', async () => {
    const before = await t.app.get(PayoutQueues).route.getJobCounts();
    const refused = [
      await t.http.post('/admin/queues/api/queues/route-payout/add').set(ops).send({ name: 'x', data: {} }),
      await t.http.put('/admin/queues/api/queues/send-payout/retry/failed').set(ops),
      await t.http.put('/admin/queues/api/queues/partner-webhooks/pause').set(ops),
      await t.http.put('/admin/queues/api/queues/pause').set(ops),
      await t.http.put('/admin/queues/api/queues/resume').set(ops),
    ];
    for (const res of refused) {
      expectProblem(res, 405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(res.body.detail).toMatch(/only shows the queues/);
    }
    expect(await t.app.get(PayoutQueues).route.getJobCounts()).toEqual(before);
    const listed = await t.http.get('/admin/queues/api/queues').set(ops).expect(200);
    expect(new Set(listed.body.queues.map((q: { readOnlyMode: boolean }) => q.readOnlyMode))).toEqual(
      new Set([true]),
    );
  });

  it('answers the dashboard API’s own errors as problem+json, with no stack trace', async () => {
    const res = await t.http.get('/admin/queues/api/queues/no-such-queue/some-job').set(ops);
    expectProblem(res, 404);
    expect(res.body.detail).toBe('The queue dashboard has no queue of that name.');
    expect(JSON.stringify(res.body)).not.toMatch(/ERRORS\.|\bat \//);
  });

  it.each([
    ['GET', '/admin/queues/api/queues'],
    ['GET', '/%61dmin/queues/api/queues'],
    ['GET', '/admin/%71ueues/api/queues'],
    ['GET', '/admin/queue%73/api/redis/stats'],
    ['PUT', '/%61dmin/queues/api/queues/partner-webhooks/pause'],
  ])('refuses %s %s without the ops token, however the path is spelled', async (method, path) => {
    const sent = method === 'PUT' ? t.http.put(path) : t.http.get(path);
    expectProblem(await sent, 401);
    const paused = await t.http.get('/admin/queues/api/queues').set(ops).expect(200);
    expect(JSON.stringify(paused.body)).not.toMatch(/"isPaused":true/);
  });
});
