import { ConnectorRegistry } from '../src/payouts/connectors/connector-registry';
import { TransferStatus } from '../src/payouts/connectors/provider-connector';
import { PayoutPipelineService, RetryLater } from '../src/payouts/payout-pipeline.service';
import { createFreelancer, createPartner, startApp, TestApp } from './support/app';
import { announcePayout, Connection, createConnection } from './support/webhooks';

/**
 * A provider whose status API never answers: a job waits for it at most SEND_TIMEOUT_MS, then tries again later,
 * having changed nothing. Driven by hand: the app runs without workers, and the provider's answers are mocked.
 */
describe('a provider whose status lookups hang (e2e, steps called by hand)', () => {
  let t: TestApp;
  let partner: { id: string; apiKey: string };
  let connection: Connection;
  let pipeline: PayoutPipelineService;
  let registry: ConnectorRegistry;

  beforeAll(async () => {
    t = await startApp({ SEND_TIMEOUT_MS: '300', BREAKER_FAILURE_THRESHOLD: '1000' }, { role: 'api' });
    partner = await createPartner(t.http);
    connection = await createConnection(t.http, partner.apiKey, 'upwork');
    pipeline = t.app.get(PayoutPipelineService);
    registry = t.app.get(ConnectorRegistry);
  });

  afterAll(async () => {
    await t.close();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** A payout routed to its first attempt, left by an earlier send in `status`; answers its ids and provider. */
  async function attemptIn(
    status: 'accepted' | 'unknown' | 'settled',
  ): Promise<{ id: string; attemptId: string; provider: string }> {
    const freelancer = await createFreelancer(t.http, partner.apiKey);
    const id = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
    await pipeline.route(id, { sendInline: false });
    const [attempt] = await t.db.query(`SELECT id, provider FROM payout_attempts WHERE payout_id = $1`, [id]);
    await t.db.query(`UPDATE payouts SET status = $2 WHERE id = $1`, [
      id,
      status === 'settled' ? 'settled' : 'sending',
    ]);
    await t.db.query(
      `UPDATE payout_attempts SET status = $2, provider_transfer_id = CASE WHEN $2 = 'unknown' THEN NULL ELSE 'tr-1' END,
              unknown_sends = CASE WHEN $2 = 'unknown' THEN 1 ELSE 0 END,
              return_check = CASE WHEN $2 = 'settled' THEN 0 END,
              last_send_at = clock_timestamp() - interval '1 hour' WHERE id = $1`,
      [attempt.id, status],
    );
    return { id, attemptId: attempt.id, provider: attempt.provider };
  }

  /** The provider's status API never answers; answers the signals the pipeline gave it. */
  function statusHangs(provider: string): AbortSignal[] {
    const signals: AbortSignal[] = [];
    const connector = registry.get(provider);
    jest.spyOn(connector, 'getStatus').mockImplementation((_key: string, signal?: AbortSignal) => {
      if (signal) signals.push(signal);
      return new Promise<TransferStatus>(() => undefined);
    });
    jest.spyOn(connector, 'send').mockRejectedValue(new Error('no send may go out'));
    return signals;
  }

  async function attemptRow(attemptId: string): Promise<{ status: string; return_check: number | null }> {
    const [row] = await t.db.query(`SELECT status, return_check FROM payout_attempts WHERE id = $1`, [
      attemptId,
    ]);
    return row;
  }

  it('a settlement poll gives up and polls again later; the transfer stays accepted', async () => {
    const { id, attemptId, provider } = await attemptIn('accepted');
    const signals = statusHangs(provider);
    await expect(pipeline.settle({ payoutId: id, attemptId })).rejects.toBeInstanceOf(RetryLater);
    expect(signals.map((s) => s.aborted)).toEqual([true]);
    expect((await attemptRow(attemptId)).status).toBe('accepted');
  });

  it('a send after an unknown outcome sends nothing until the provider has answered for the key', async () => {
    const { id, attemptId, provider } = await attemptIn('unknown');
    statusHangs(provider);
    await expect(pipeline.send(id, attemptId, false)).rejects.toBeInstanceOf(RetryLater);
    expect(registry.get(provider).send).not.toHaveBeenCalled();
    expect((await attemptRow(attemptId)).status).toBe('unknown');
    const attempts = await t.db.query(`SELECT count(*)::int AS n FROM payout_attempts WHERE payout_id = $1`, [
      id,
    ]);
    expect(attempts).toEqual([{ n: 1 }]);
  });

  it('a return check that gets no answer costs that check, and the next one is due', async () => {
    const { id, attemptId, provider } = await attemptIn('settled');
    const signals = statusHangs(provider);
    await pipeline.settle({ payoutId: id, attemptId, returnCheck: 0 });
    expect(signals.map((s) => s.aborted)).toEqual([true]);
    expect(await attemptRow(attemptId)).toEqual({ status: 'settled', return_check: 1 });
  });
});
