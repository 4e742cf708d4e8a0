import { loadConfig } from '../src/config/app-config';
import { ProviderHealthService } from '../src/routing/provider-health.service';
import { ops, startApp, TestApp, waitFor } from './support/app';
import { PausableRedisRelay } from './support/redis-relay';

const THRESHOLD = 2;
const ENV = { BREAKER_FAILURE_THRESHOLD: String(THRESHOLD), BREAKER_COOLDOWN_MS: '60000' };

const gauge = async (app: TestApp, provider: string): Promise<string | null> => {
  const res = await app.http.get('/metrics').expect(200);
  const line = res.text
    .split('\n')
    .find((l) => l.startsWith(`provider_breaker_open{provider="${provider}"}`));
  return line ? line.split(' ').pop()! : null;
};

/**
 * `provider_breaker_open` is what Prometheus alerts on. The breaker lives in Redis, shared by every process; each
 * process's /metrics must say what Redis holds, not what that process last happened to see.
 */
describe('provider_breaker_open across processes (e2e)', () => {
  let worker: TestApp;
  let api: TestApp;

  beforeAll(async () => {
    // Two processes on one database and Redis prefix: a worker (Prometheus scrapes worker:3001/metrics) and
    // the api replica ops call.
    worker = await startApp(ENV);
    api = await startApp(ENV);
  });

  afterAll(async () => {
    await api.close();
    await worker.close();
  });

  afterEach(async () => {
    for (const id of ['wise', 'zindigi']) await api.http.post(`/v1/ops/providers/${id}/enable`).set(ops);
  });

  it('goes back to 0 on the worker when ops enable the provider through the api', async () => {
    const health = worker.app.get(ProviderHealthService);
    for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('wise');
    expect(await gauge(worker, 'wise')).toBe('1');

    const enabled = await api.http.post('/v1/ops/providers/wise/enable').set(ops).expect(200);
    expect(enabled.body.breaker).toBe('closed');

    // Redis says closed; the worker's scrape keeps saying open until that worker happens to route a payout (a
    // scrape reading may serve for GAUGE_REFRESH_MIN_MS, so this waits a few seconds, not for ever).
    await waitFor(async () => (await gauge(worker, 'wise')) === '0', {
      timeoutMs: 5000,
      intervalMs: 250,
      what: 'provider_breaker_open{provider="wise"} 0 on the worker',
    });
  });

  it('shows a breaker another process opened', async () => {
    const health = worker.app.get(ProviderHealthService);
    for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('zindigi');
    expect(await gauge(api, 'zindigi')).toBe('1');
  });
});

describe('provider health while Redis does not answer (e2e)', () => {
  let relay: PausableRedisRelay;
  let t: TestApp;

  beforeAll(async () => {
    relay = await PausableRedisRelay.start(loadConfig().redisUrl);
    t = await startApp({ ...ENV, REDIS_URL: relay.url, REDIS_COMMAND_TIMEOUT_MS: '200' });
  });

  afterAll(async () => {
    relay.resume();
    relay.up();
    await t.http.post('/v1/ops/providers/sadapay/enable').set(ops);
    await t.close();
    await relay.close();
  });

  it('does not report an open breaker as closed because a read of it failed', async () => {
    const health = t.app.get(ProviderHealthService);
    for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('sadapay');
    expect(await gauge(t, 'sadapay')).toBe('1');

    relay.pause();
    // Any read of the breakers meanwhile (a quote, a routing decision, GET /v1/ops/providers) fails.
    await t.http.get('/v1/ops/providers').set(ops).expect(200);
    // The breaker is still open in Redis: an unknown state must not read as "closed" in the alerting metric.
    expect(await gauge(t, 'sadapay')).toBe('1');
    relay.resume();
  });

  it('tells ops the breaker was not reset (503) instead of answering it closed, and a repeat resets it', async () => {
    const health = t.app.get(ProviderHealthService);
    for (let i = 0; i < THRESHOLD; i++) await health.recordFailure('sadapay');
    relay.down();
    const res = await t.http.post('/v1/ops/providers/sadapay/enable').set(ops);
    relay.up();
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body.detail).toMatch(/enable it again/);
    // Enable is idempotent: repeated once Redis answers, it does what ops asked.
    await waitFor(
      async () => (await t.http.post('/v1/ops/providers/sadapay/enable').set(ops)).status === 200,
      { what: 'a repeated enable to answer 200 once Redis is back' },
    );
    const again = await t.http.post('/v1/ops/providers/sadapay/enable').set(ops).expect(200);
    expect(again.body.breaker).toBe('closed');
    expect(await health.acquireSend('sadapay')).toBe(true);
  });
});
