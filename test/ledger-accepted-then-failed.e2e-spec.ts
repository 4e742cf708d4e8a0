import { ConnectorRegistry } from '../src/payouts/connectors/connector-registry';
import { PayoutPipelineService, RetryLater } from '../src/payouts/payout-pipeline.service';
import { ProviderHealthService } from '../src/routing/provider-health.service';
import { bearer, createFreelancer, createPartner, startApp, TestApp } from './support/app';
import { announcePayout, Connection, createConnection } from './support/webhooks';

/**
 * A provider may accept a transfer and fail it later (the sandbox never does): the sent entry is then reversed, and
 * the money either moves on to the next route or, once every route failed, back out of transit. Driven by hand: the
 * app runs without workers, and the providers' answers are mocked.
 */
describe('ledger of a transfer a provider accepted and then failed (e2e, steps called by hand)', () => {
  let t: TestApp;
  let partner: { id: string; apiKey: string };
  let connection: Connection;
  let pipeline: PayoutPipelineService;
  let registry: ConnectorRegistry;
  let health: ProviderHealthService;

  beforeAll(async () => {
    t = await startApp({ BREAKER_FAILURE_THRESHOLD: '1000' }, { role: 'api' });
    partner = await createPartner(t.http);
    connection = await createConnection(t.http, partner.apiKey, 'upwork');
    pipeline = t.app.get(PayoutPipelineService);
    registry = t.app.get(ConnectorRegistry);
    health = t.app.get(ProviderHealthService);
  });

  afterAll(async () => {
    await t.close();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** The payout's balance per account over its own entries, debit positive, accounts named by type only. */
  async function balances(payoutId: string): Promise<Record<string, string>> {
    const rows: { type: string; balance: string }[] = await t.db.query(
      `SELECT split_part(l.account, ':', 1) || ':' || split_part(l.account, ':', 2) AS type,
              sum(CASE WHEN l.side = 'debit' THEN l.amount ELSE -l.amount END)::text AS balance
         FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id
        WHERE e.payout_id = $1 GROUP BY 1`,
      [payoutId],
    );
    return Object.fromEntries(rows.map((r) => [r.type, r.balance]));
  }

  async function kinds(payoutId: string): Promise<string[]> {
    const rows: { kind: string }[] = await t.db.query(
      `SELECT kind FROM ledger_entries WHERE payout_id = $1 ORDER BY seq`,
      [payoutId],
    );
    return rows.map((r) => r.kind);
  }

  async function openAttempt(payoutId: string): Promise<{ id: string; provider: string } | undefined> {
    const [row] = await t.db.query(
      `SELECT id, provider FROM payout_attempts WHERE payout_id = $1 AND status = 'pending' ORDER BY seq DESC`,
      [payoutId],
    );
    return row;
  }

  /** Every provider accepts the send; each then reports the transfer as `later` says. */
  function providersAcceptThen(later: (provider: string) => 'failed' | 'settled'): void {
    for (const provider of ['payoneer', 'upwork', 'wise', 'correspondent', 'zindigi', 'sadapay']) {
      const connector = registry.get(provider);
      jest.spyOn(connector, 'send').mockResolvedValue({ kind: 'accepted', transferId: `tr-${provider}` });
      jest
        .spyOn(connector, 'getStatus')
        .mockResolvedValue(
          later(provider) === 'failed'
            ? { state: 'failed', transferId: `tr-${provider}`, error: 'the beneficiary bank refused it' }
            : { state: 'settled', transferId: `tr-${provider}`, settledAt: new Date() },
        );
    }
  }

  /** A send job's RetryLater is the queue's business (it tries the job again later); anything else fails the test. */
  const ignoreRetry = (error: unknown) => {
    if (!(error instanceof RetryLater)) throw error;
  };

  /** Runs the send job of each open attempt in turn, as the queue would, until none is left (one per route at most). */
  async function sendUntilDone(payoutId: string): Promise<void> {
    for (let round = 0; round < 12; round += 1) {
      const attempt = await openAttempt(payoutId);
      if (!attempt) return;
      await pipeline.send(payoutId, attempt.id, false).catch(ignoreRetry);
    }
    throw new Error(`payout ${payoutId} still has an attempt to send`);
  }

  it('reverses the failed transfer, settles on the next route, and leaves nothing in transit', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await pipeline.route(id, { sendInline: false });
    const first = (await openAttempt(id))!;
    providersAcceptThen((provider) => (provider === first.provider ? 'failed' : 'settled'));

    await sendUntilDone(id);

    const [payout] = await t.db.query(`SELECT status, net::text AS net FROM payouts WHERE id = $1`, [id]);
    expect(payout.status).toBe('settled');
    expect(await kinds(id)).toEqual(['routed', 'sent', 'attempt_rejected', 'sent', 'settled']);
    const b = await balances(id);
    expect(b[`provider_in_transit:${first.provider}`]).toBe('0.00');
    expect(b['platform_receivable:upwork']).toBe('0.00');
    expect(b[`freelancer_in_transit:${freelancer.id}`]).toBe('0.00');
    expect(b[`freelancer_settled:${freelancer.id}`]).toBe(`-${payout.net}`);
    const balance = await t.http
      .get(`/v1/freelancers/${freelancer.id}/balance`)
      .set(bearer(partner.apiKey))
      .expect(200);
    expect(balance.body).toMatchObject({ settled: payout.net, inTransit: '0.00' });
  });

  it('fails the payout once every accepted transfer failed, and leaves nothing in transit', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '800.00');
    await pipeline.route(id, { sendInline: false });
    providersAcceptThen(() => 'failed');

    await sendUntilDone(id);

    const [payout] = await t.db.query(`SELECT status FROM payouts WHERE id = $1`, [id]);
    expect(payout.status).toBe('failed');
    const entries = await kinds(id);
    expect(entries[0]).toBe('routed');
    expect(entries.at(-1)).toBe('failed');
    expect(entries.filter((k) => k === 'sent').length).toBe(
      entries.filter((k) => k === 'attempt_rejected').length,
    );
    for (const [account, balance] of Object.entries(await balances(id))) {
      expect([account, balance]).toEqual([account, '0.00']);
    }
  });

  it('never fails over (nor reverses the sent entry of) an attempt another job got accepted meanwhile', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await pipeline.route(id, { sendInline: false });
    const [attempt] = await t.db.query(
      `SELECT id, provider FROM payout_attempts WHERE payout_id = $1 ORDER BY seq`,
      [id],
    );
    // An earlier send of attempt 1 timed out long ago: the attempt is unknown, as send() leaves it.
    await t.db.query(`UPDATE payouts SET status = 'sending' WHERE id = $1`, [id]);
    await t.db.query(
      `UPDATE payout_attempts SET status = 'unknown', unknown_sends = 1,
              last_send_at = clock_timestamp() - interval '1 hour' WHERE id = $1`,
      [attempt.id],
    );

    const connector = registry.get(attempt.provider);
    let accepted = false;
    jest
      .spyOn(connector, 'getStatus')
      .mockImplementation(async () =>
        accepted ? { state: 'processing', transferId: 'tr-1' } : { state: 'not_found' },
      );
    jest.spyOn(connector, 'send').mockImplementation(async () => {
      accepted = true;
      return { kind: 'accepted', transferId: 'tr-1' };
    });
    // Job A reads the breaker open (so it means to fail over); job B, a moment later, closed again.
    jest.spyOn(health, 'isClosed').mockResolvedValueOnce(false).mockResolvedValue(true);

    // Job B runs while job A is between its reading of the attempt and its failover.
    const jobB = () => pipeline.send(id, attempt.id, false).catch(ignoreRetry);
    // nextRoutes is private: reached through an index type, as a spy would.
    type WithNextRoutes = { nextRoutes: (...args: unknown[]) => Promise<unknown> };
    const inner = pipeline as unknown as WithNextRoutes;
    const nextRoutes = inner.nextRoutes.bind(pipeline);
    let calls = 0;
    jest.spyOn(inner, 'nextRoutes').mockImplementation(async (...args: unknown[]) => {
      calls += 1;
      if (calls === 2) await jobB();
      return nextRoutes(...args);
    });

    await pipeline.send(id, attempt.id, false).catch(ignoreRetry); // job A

    expect(accepted).toBe(true); // the provider took attempt 1's transfer: the money is on its way there
    const attempts = await t.db.query(
      `SELECT seq, status FROM payout_attempts WHERE payout_id = $1 ORDER BY seq`,
      [id],
    );
    // Expected: attempt 1 stays accepted, booked as sent once, and no second route is sent the same money.
    expect({ attempts, kinds: await kinds(id) }).toEqual({
      attempts: [{ seq: 1, status: 'accepted' }],
      kinds: ['routed', 'sent'],
    });
  });

  it('books no settlement for a payout whose state says it has no transfer under way', async () => {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await pipeline.route(id, { sendInline: false });
    const attempt = (await openAttempt(id))!;
    const connector = registry.get(attempt.provider);
    jest.spyOn(connector, 'send').mockResolvedValue({ kind: 'accepted', transferId: 'tr-1' });
    jest
      .spyOn(connector, 'getStatus')
      .mockResolvedValueOnce({ state: 'processing', transferId: 'tr-1' })
      .mockResolvedValue({ state: 'settled', transferId: 'tr-1', settledAt: new Date() });
    await pipeline.send(id, attempt.id, false).catch(ignoreRetry);
    // A payout with an accepted transfer is sending; one that is not (a bug elsewhere) must not be booked past.
    await t.db.query(`UPDATE payouts SET status = 'routed' WHERE id = $1`, [id]);
    await expect(pipeline.settle({ payoutId: id, attemptId: attempt.id })).rejects.toThrow(/not sending/);
    const [row] = await t.db.query(`SELECT status FROM payout_attempts WHERE id = $1`, [attempt.id]);
    expect(row.status).toBe('accepted');
    expect(await kinds(id)).toEqual(['routed', 'sent']);
  });
});
