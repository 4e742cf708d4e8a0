import { randomUUID } from 'node:crypto';
import { MoneyDecimal } from '../src/money/money';
import { Clock } from '../src/common/clock';
import { MetricsService } from '../src/ops/metrics.service';
import { ConnectorRegistry } from '../src/payouts/connectors/connector-registry';
import { ProviderConnector } from '../src/payouts/connectors/provider-connector';
import { SandboxConnectorFactory } from '../src/payouts/connectors/sandbox/sandbox.connector';
import { ReconciliationScheduler } from '../src/payouts/reconciliation/reconciliation-scheduler.service';
import { ReconciliationService } from '../src/payouts/reconciliation/reconciliation.service';
import { bearer, createFreelancer, createPartner, ops, startApp, TestApp } from './support/app';
import { OwnDatabase } from './support/own-database';
import { payoutWhen } from './support/payouts';
import { expectProblem } from './support/problem';
import { announcePayout, createConnection } from './support/webhooks';

// All below the 1,600 crossover of the Upwork routes, so one provider carries every payout.
const AMOUNTS = ['1250.00', '310.40', '99.99', '1500.00', '45.10', '777.77'];

/** What the sandbox and our attempts hold of one settled payout. */
interface Sent {
  payoutId: string;
  attemptId: string;
  key: string;
  amount: string;
}

// A database of its own: the report reads every transfer of a provider in the window, which on the run's shared
// database would include other suites' sandbox transfers.
describe('reconciliation with a provider (e2e)', () => {
  const own = new OwnDatabase('reconciliation');
  const env = { DATABASE_URL: own.url, QUEUE_PREFIX: `${process.env.QUEUE_PREFIX}:reconciliation` };
  let t: TestApp;
  let provider: string;
  let sent: Sent[];
  let from: string;
  let partnerKey: string;

  const report = (providerId: string, query: Record<string, string>) =>
    t.http.get(`/v1/ops/reconciliation/providers/${providerId}`).query(query).set(ops);
  const window = () => ({ from, to: new Date(Date.now() + 60_000).toISOString() });

  beforeAll(async () => {
    await own.create();
    from = new Date(Date.now() - 1000).toISOString();
    // The payouts go through the whole pipeline once; that app then stops, so that no settlement or return check
    // of its workers runs while a test changes the books under it.
    const pipeline = await startApp({ ...env, SANDBOX_SETTLE_AFTER_MS: '50' }, { role: 'all' });
    try {
      const partner = await createPartner(pipeline.http);
      partnerKey = partner.apiKey;
      const connection = await createConnection(pipeline.http, partner.apiKey, 'upwork');
      const freelancer = await createFreelancer(pipeline.http, partner.apiKey);
      const ids: string[] = [];
      for (const amount of AMOUNTS)
        ids.push(await announcePayout(pipeline, connection, freelancer.externalRef, amount));
      for (const id of ids) await payoutWhen(pipeline, partner.apiKey, id, ['settled']);
      sent = await pipeline.db.query(
        `SELECT a.payout_id AS "payoutId", a.id AS "attemptId", a.idempotency_key AS key, p.gross::text AS amount
           FROM payout_attempts a JOIN payouts p ON p.id = a.payout_id
          WHERE a.payout_id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], a.payout_id)`,
        [ids],
      );
      const providers: { provider: string }[] = await pipeline.db.query(
        `SELECT DISTINCT provider FROM payout_attempts WHERE payout_id = ANY($1::uuid[])`,
        [ids],
      );
      expect(providers).toHaveLength(1);
      provider = providers[0].provider;
    } finally {
      await pipeline.close();
    }
    t = await startApp(env, { role: 'api' });
  });

  afterAll(async () => {
    await t?.close();
    await own.drop();
  });

  it('finds the provider’s books and ours in agreement after the payouts settled', async () => {
    expect(sent.map((s) => s.amount)).toEqual(AMOUNTS);
    const res = await report(provider, window()).expect(200);
    expect(res.body).toEqual({
      providerId: provider,
      from: new Date(from).toISOString(),
      to: expect.any(String),
      checkedAt: expect.any(String),
      statement: {
        transfers: AMOUNTS.length,
        processing: '0.00',
        settled: '3983.26',
        failed: '0.00',
        returned: '0.00',
      },
      matched: AMOUNTS.length,
      elsewhere: 0,
      discrepancies: [],
    });
  });

  it('finds nothing at a provider no payout went to', async () => {
    const other = provider === 'wise' ? 'zindigi' : 'wise';
    const res = await report(other, window()).expect(200);
    expect(res.body).toEqual(
      expect.objectContaining({
        matched: 0,
        elsewhere: 0,
        discrepancies: [],
        statement: expect.objectContaining({ transfers: 0 }),
      }),
    );
  });

  it('names every kind of disagreement, each with both sides, and counts them in metrics', async () => {
    const [agreeing, changedAmount, failedHere, deletedThere, behindHere, acceptedEarlier] = sent;
    const stray = `stray-${randomUUID()}`;
    const sendResult = await t.app
      .get(ConnectorRegistry)
      .get(provider)
      .send({
        idempotencyKey: stray,
        payoutId: randomUUID(),
        attemptId: randomUUID(),
        routeId: 'unknown-route',
        amount: new MoneyDecimal('12.34'),
        currency: 'USD',
        beneficiary: {
          name: 'Someone Else',
          iban: 'PK36SCBL0000001123456702',
          institution: 'X',
          accountKind: 'bank_fcy',
        },
      });
    expect(sendResult.kind).toBe('accepted');
    await t.db.query(`UPDATE sandbox_transfers SET amount = amount + 0.01 WHERE idempotency_key = $1`, [
      changedAmount.key,
    ]);
    await t.db.query(`UPDATE payout_attempts SET status = 'failed' WHERE id = $1`, [failedHere.attemptId]);
    await t.db.query(`DELETE FROM sandbox_transfers WHERE idempotency_key = $1`, [deletedThere.key]);
    await t.db.query(`UPDATE payout_attempts SET status = 'accepted' WHERE id = $1`, [behindHere.attemptId]);
    await t.db.query(
      `UPDATE sandbox_transfers SET accepted_at = accepted_at - interval '2 days' WHERE idempotency_key = $1`,
      [acceptedEarlier.key],
    );

    const res = await report(provider, window()).expect(200);
    expect(res.body.matched).toBe(1);
    expect(res.body.elsewhere).toBe(1);
    expect(res.body.statement.transfers).toBe(AMOUNTS.length - 2 + 1);
    const found = res.body.discrepancies.map((d: { kind: string; idempotencyKey: string }) => [
      d.idempotencyKey,
      d.kind,
    ]);
    expect(found.sort()).toEqual(
      [
        [stray, 'unknown_transfer'],
        [changedAmount.key, 'amount_mismatch'],
        [failedHere.key, 'state_contradiction'],
        [deletedThere.key, 'missing_transfer'],
        [behindHere.key, 'state_behind'],
      ].sort(),
    );
    expect(found.map(([key]: [string]) => key)).not.toContain(agreeing.key);

    const byKind = (kind: string) =>
      res.body.discrepancies.find((d: { kind: string }) => d.kind === kind) as Record<string, unknown>;
    expect(byKind('unknown_transfer')).toEqual({
      kind: 'unknown_transfer',
      idempotencyKey: stray,
      ours: null,
      provider: {
        transferId: expect.any(String),
        state: expect.stringMatching(/^(processing|settled)$/),
        amount: '12.34',
        currency: 'USD',
        acceptedAt: expect.any(String),
      },
      detail: expect.stringContaining('12.34 USD under a key we never sent'),
    });
    expect(byKind('amount_mismatch')).toEqual(
      expect.objectContaining({
        ours: expect.objectContaining({
          payoutId: changedAmount.payoutId,
          attemptId: changedAmount.attemptId,
          status: 'settled',
          amount: '310.40',
          currency: 'USD',
        }),
        provider: expect.objectContaining({ state: 'settled', amount: '310.41' }),
        detail: 'the provider moved 310.41 USD; the payout is 310.40 USD',
      }),
    );
    expect(byKind('missing_transfer')).toEqual(
      expect.objectContaining({
        ours: expect.objectContaining({
          payoutId: deletedThere.payoutId,
          status: 'settled',
          amount: '1500.00',
        }),
        provider: null,
      }),
    );

    // A report ops ask for leaves the metrics alerts read to the scheduled pass.
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).not.toContain(`reconciliation_discrepancies{provider="${provider}"`);
    expect(metrics.text).not.toContain(`reconciliation_last_success_seconds{provider="${provider}"}`);
  });

  describe('on schedule', () => {
    const metricsService = () => t.app.get(MetricsService);
    const scheduler = (registry: ConnectorRegistry, lagMs = 0) => {
      const config = {
        ...t.config,
        reconcile: { ...t.config.reconcile, intervalMs: 0, lookbackMs: 3_600_000, lagMs },
      };
      const service = new ReconciliationService(t.db, registry, new Clock());
      return new ReconciliationScheduler(service, registry, new Clock(), metricsService(), config);
    };

    it('reconciles every provider over the window that ended the lag ago, and sets what alerts read', async () => {
      const registry = t.app.get(ConnectorRegistry);
      const line = await scheduler(registry).pass();
      expect(line).toMatch(/^Reconciled 6 of 6 providers from \S+ to \S+: 5 discrepancies$/);
      const metrics = await metricsService().registry.metrics();
      for (const kind of [
        'unknown_transfer',
        'amount_mismatch',
        'state_contradiction',
        'missing_transfer',
        'state_behind',
      ]) {
        expect(metrics).toContain(`reconciliation_discrepancies{provider="${provider}",kind="${kind}"} 1`);
      }
      const lastSuccess = metrics.match(
        new RegExp(`^reconciliation_last_success_seconds\\{provider="${provider}"\\} (\\d+)$`, 'm'),
      );
      expect(Number(lastSuccess?.[1])).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 60);
      // With the window ending before the payouts were sent, there is nothing to compare.
      expect(await scheduler(registry, 3_000_000).pass()).toMatch(/: 0 discrepancies$/);
    });

    /** Sandbox connectors, but for one provider whose statement answers as `statement` does. */
    const withStatement = (providerId: string, statement: ProviderConnector['statement']) => {
      const registry = new ConnectorRegistry(t.app.get(SandboxConnectorFactory));
      const sandbox = registry.get(providerId);
      registry.register({
        providerId,
        send: (request) => sandbox.send(request),
        getStatus: (key) => sandbox.getStatus(key),
        statement,
      });
      return registry;
    };

    it('names a provider whose statement cannot be read, and still reconciles the others', async () => {
      const registry = withStatement('wise', () => Promise.reject(new Error('statement API answered 503')));
      expect(await scheduler(registry).pass()).toMatch(
        /^Reconciled 5 of 6 providers from \S+ to \S+: 5 discrepancies; failed: wise$/,
      );
    });

    it('gives up on a provider whose statement never answers, and still reconciles the others', async () => {
      const registry = withStatement('zindigi', () => new Promise(() => undefined));
      expect(await scheduler(registry).pass(200)).toMatch(
        /^Reconciled 5 of 6 providers from \S+ to \S+: 5 discrepancies; failed: zindigi$/,
      );
    });
  });

  it.each([
    [{ to: '2026-12-01T00:00:00Z' }, 'from', 'from is required'],
    [{ from: '2026-11-30T00:00:00', to: '2026-12-01T00:00:00Z' }, 'from', 'with its zone'],
    [{ from: '2026-02-30T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'from', 'real calendar instant'],
    // No clock is more than 14 hours from UTC.
    [{ from: '2026-11-30T00:00:00+23:59', to: '2026-12-01T00:00:00Z' }, 'from', 'offset within ±14:00'],
    [{ from: '2026-11-30T00:00:00Z', to: '2026-12-01T00:00:00-14:30' }, 'to', 'offset within ±14:00'],
    [
      { from: '2026-11-30T00:00:00.123456Z', to: '2026-12-01T00:00:00Z' },
      'from',
      'to the millisecond at most',
    ],
    [{ from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:00:00Z' }, 'to', 'to must be after from'],
    [{ from: '2026-10-01T00:00:00Z', to: '2026-11-02T00:00:00Z' }, 'to', 'at most 31 days'],
  ])('refuses the window %j naming %s', async (query, field, message) => {
    const res = await report(provider, query as Record<string, string>);
    expectProblem(res, 400);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field, message: expect.stringContaining(message) })]),
    );
  });

  it('reads a window given in another zone as the same instants', async () => {
    const res = await report(provider, {
      from: '2026-11-30T05:00:00+05:00',
      to: '2026-12-01T05:00:00.5+05:00',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(
      expect.objectContaining({ from: '2026-11-30T00:00:00.000Z', to: '2026-12-01T00:00:00.500Z' }),
    );
  });

  it('does not know a provider outside the catalog', async () => {
    expectProblem(await report('acme-bank', window()), 404);
  });

  it('answers only ops', async () => {
    const path = `/v1/ops/reconciliation/providers/${provider}`;
    expectProblem(await t.http.get(path).query(window()), 401);
    expectProblem(await t.http.get(path).query(window()).set(bearer(partnerKey)), 401);
  });
});
