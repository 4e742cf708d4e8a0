import { createFreelancer, createPartner, ops, startApp, TestApp, waitFor } from './support/app';
import { Clock } from '../src/common/clock';
import { PayoutPipelineService, RetryLater } from '../src/payouts/payout-pipeline.service';
import { ConnectorRegistry } from '../src/payouts/connectors/connector-registry';
import { ProviderConnector } from '../src/payouts/connectors/provider-connector';
import { SandboxConnectorFactory } from '../src/payouts/connectors/sandbox/sandbox.connector';
import { ReconciliationService } from '../src/payouts/reconciliation/reconciliation.service';
import { setSandbox } from './support/payouts';
import { announcePayout, Connection, createConnection } from './support/webhooks';

/**
 * Reconciliation while the pipeline moves on, a stop during a slow statement, and ops retries at once. The app runs
 * without workers; the steps are called by hand, as in pipeline-races.e2e-spec.ts.
 */
describe('reconciliation and retries against a moving pipeline (e2e)', () => {
  let t: TestApp;
  let partner: { id: string; apiKey: string };
  let connection: Connection;
  let pipeline: PayoutPipelineService;

  beforeAll(async () => {
    t = await startApp({ SEND_TIMEOUT_MS: '1500', BREAKER_FAILURE_THRESHOLD: '1000' }, { role: 'api' });
    partner = await createPartner(t.http);
    connection = await createConnection(t.http, partner.apiKey, 'upwork');
    pipeline = t.app.get(PayoutPipelineService);
  });

  afterAll(async () => {
    await t.db.query(`DELETE FROM sandbox_provider_settings WHERE provider_id = 'payoneer'`);
    await t.close();
  });

  /** A job's RetryLater is the queue's business (it runs the job again later); anything else fails the test. */
  const ignoreRetry = (error: unknown) => {
    if (!(error instanceof RetryLater)) throw error;
  };

  /** A payout announced, routed and sent: its one attempt, accepted at payoneer (still processing there). */
  async function acceptedPayout(amount: string): Promise<{ id: string; attemptId: string; key: string }> {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, amount);
    await pipeline.route(id, { sendInline: false });
    const [attempt] = await t.db.query(
      `SELECT id, idempotency_key AS key, provider FROM payout_attempts WHERE payout_id = $1`,
      [id],
    );
    expect(attempt.provider).toBe('payoneer');
    await pipeline.send(id, attempt.id, false).catch(ignoreRetry);
    const [row] = await t.db.query(`SELECT status FROM payout_attempts WHERE id = $1`, [attempt.id]);
    expect(row.status).toBe('accepted');
    return { id, attemptId: attempt.id, key: attempt.key };
  }

  /** Settlement polls, as the settle job makes them, until our books hold the attempt in `status`. */
  async function pollUntil(payoutId: string, attemptId: string, status: string): Promise<void> {
    await waitFor(
      async () => {
        await pipeline.settle({ payoutId, attemptId }).catch(ignoreRetry);
        const [row] = await t.db.query(`SELECT status FROM payout_attempts WHERE id = $1`, [attemptId]);
        return row.status === status;
      },
      { what: `attempt ${attemptId} to be ${status}` },
    );
  }

  /**
   * Sandbox connectors, but payoneer's statement lets `meanwhile` run once the page is read and before it is
   * answered: what the worker's settle jobs do while a scheduled report is reading the provider's books.
   */
  function registryWithStatementThen(meanwhile: () => Promise<unknown>): ConnectorRegistry {
    const registry = new ConnectorRegistry(t.app.get(SandboxConnectorFactory));
    const payoneer = registry.get('payoneer');
    const connector: ProviderConnector = {
      providerId: 'payoneer',
      send: (request) => payoneer.send(request),
      getStatus: (key) => payoneer.getStatus(key),
      statement: async (window, cursor, limit, signal) => {
        const page = await payoneer.statement(window, cursor, limit, signal);
        await meanwhile();
        return page;
      },
    };
    registry.register(connector);
    return registry;
  }

  /** The kinds of discrepancy a report of payoneer's books from `from` finds for one key. */
  async function discrepanciesOf(registry: ConnectorRegistry, from: string, key: string) {
    const service = new ReconciliationService(t.db, registry, new Clock());
    const report = await service.reconcile('payoneer', {
      from,
      to: new Date(Date.now() + 60_000).toISOString(),
    });
    return report.discrepancies.filter((d) => d.idempotencyKey === key);
  }

  describe('reconciliation of a transfer that moves on while the report reads the books', () => {
    afterEach(() => setSandbox(t.http, 'payoneer', { settleAfterMs: 2000, returnRate: 0 }));

    it('does not call a transfer that settled in between a state_contradiction', async () => {
      await setSandbox(t.http, 'payoneer', { settleAfterMs: 300 });
      const from = new Date(Date.now() - 1000).toISOString();
      const { id, attemptId, key } = await acceptedPayout('910.00');

      // The statement is read while the transfer is still processing; the worker's settle poll then finds it
      // settled and books it, before the report reads our attempts.
      const registry = registryWithStatementThen(() => pollUntil(id, attemptId, 'settled'));
      const ours = await discrepanciesOf(registry, from, key);
      // Both books agree: the provider settled it, and so did we. At most the provider's snapshot is behind.
      expect(ours.map((d) => d.kind)).not.toContain('state_contradiction');
    });

    it('does not call a transfer that came back in between a state_contradiction', async () => {
      await setSandbox(t.http, 'payoneer', { settleAfterMs: 1000, returnRate: 1 });
      const from = new Date(Date.now() - 1000).toISOString();
      const { id, attemptId, key } = await acceptedPayout('911.00');
      await pollUntil(id, attemptId, 'settled');

      // The statement shows the transfer settled; the provider then returns it, and the worker's return check
      // books the return before the report reads our attempts.
      const registry = registryWithStatementThen(() =>
        waitFor(
          async () => {
            const [due] = await t.db.query(`SELECT return_check FROM payout_attempts WHERE id = $1`, [
              attemptId,
            ]);
            await pipeline.settle({ payoutId: id, attemptId, returnCheck: due.return_check });
            const [row] = await t.db.query(`SELECT status FROM payout_attempts WHERE id = $1`, [attemptId]);
            return row.status === 'returned';
          },
          { what: 'the return to be booked' },
        ),
      );
      const ours = await discrepanciesOf(registry, from, key);
      expect(ours.map((d) => d.kind)).not.toContain('state_contradiction');
    });
  });

  describe('ops retry of a failed payout', () => {
    afterEach(async () => {
      await setSandbox(t.http, 'payoneer', { permanentFailureRate: 0 });
      await setSandbox(t.http, 'upwork', { permanentFailureRate: 0 });
    });

    /** Sends every open attempt of the payout by hand (as the send jobs would) until it is failed. */
    async function failedPayout(amount: string): Promise<string> {
      await setSandbox(t.http, 'payoneer', { permanentFailureRate: 1 });
      await setSandbox(t.http, 'upwork', { permanentFailureRate: 1 });
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const id = await announcePayout(t, connection, freelancer.externalRef, amount);
      await pipeline.route(id, { sendInline: false });
      for (let i = 0; i < 10; i += 1) {
        const [open] = await t.db.query(
          `SELECT id FROM payout_attempts WHERE payout_id = $1 AND status IN ('pending', 'unknown')`,
          [id],
        );
        if (!open) break;
        await pipeline.send(id, open.id, true).catch(ignoreRetry);
      }
      const [row] = await t.db.query(`SELECT status FROM payouts WHERE id = $1`, [id]);
      expect(row.status).toBe('failed');
      return id;
    }

    it('starts one new round for two retries at once', async () => {
      const id = await failedPayout('250.00');
      await setSandbox(t.http, 'upwork', { permanentFailureRate: 0 });
      const answers = await Promise.all([
        t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops),
        t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops),
      ]);
      for (const res of answers) expect([200, 409]).toContain(res.status);
      const rounds = await t.db.query(
        `SELECT round, count(*)::int AS n FROM payout_attempts WHERE payout_id = $1 GROUP BY round ORDER BY round`,
        [id],
      );
      expect(rounds).toEqual([
        { round: 1, n: 2 },
        { round: 2, n: 1 },
      ]);
      // A retry of the payout now routed changes nothing and says why.
      const again = await t.http.post(`/v1/ops/payouts/${id}/retry`).set(ops);
      expect(again.status).toBe(409);
    });
  });

  describe('a report ops ask for while the provider does not answer', () => {
    it('answers 504 problem+json once RECONCILE_PROVIDER_TIMEOUT_MS is over, instead of holding the request', async () => {
      const api = await startApp({ RECONCILE_PROVIDER_TIMEOUT_MS: '300' }, { role: 'api' });
      try {
        const registry = api.app.get(ConnectorRegistry);
        const payoneer = registry.get('payoneer');
        registry.register({
          providerId: 'payoneer',
          send: (request) => payoneer.send(request),
          getStatus: (key) => payoneer.getStatus(key),
          statement: () => new Promise(() => undefined),
        });
        const res = await api.http
          .get('/v1/ops/reconciliation/providers/payoneer')
          .query({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() })
          .set(ops);
        expect(res.status).toBe(504);
        expect(res.headers['content-type']).toMatch(/problem\+json/);
        expect(res.body.detail).toMatch(/payoneer did not answer/);
      } finally {
        await api.close();
      }
    });
  });

  describe('a graceful stop while a scheduled reconciliation reads a slow statement', () => {
    it('aborts the statement read at once instead of waiting for it (SHUTDOWN_TIMEOUT_MS is 35 s)', async () => {
      const worker = await startApp(
        { RECONCILE_INTERVAL_MS: '100', QUEUE_PREFIX: `${process.env.QUEUE_PREFIX}:recon-stop` },
        { role: 'worker' },
      );
      let asked!: () => void;
      let stoppedWith: Error | undefined;
      const statementAsked = new Promise<void>((resolve) => (asked = resolve));
      const registry = worker.app.get(ConnectorRegistry);
      const payoneer = registry.get('payoneer');
      // A real provider's statement API that is slow to answer (it would answer within RECONCILE_PROVIDER_TIMEOUT_MS).
      registry.register({
        providerId: 'payoneer',
        send: (request) => payoneer.send(request),
        getStatus: (key) => payoneer.getStatus(key),
        statement: (_window, _cursor, _limit, signal) =>
          new Promise((_, reject) => {
            asked();
            signal?.addEventListener(
              'abort',
              () => {
                stoppedWith = signal.reason as Error;
                reject(signal.reason as Error);
              },
              { once: true },
            );
          }),
      });
      await statementAsked;
      // Without the stop reaching the pass, close() waits for the statement (RECONCILE_PROVIDER_TIMEOUT_MS, 5 minutes) and
      // the test times out.
      await worker.close();
      expect(stoppedWith?.message).toBe('the task was stopped');
    }, 30_000);
  });
});
