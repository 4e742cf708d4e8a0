import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import {
  bearer,
  createFreelancer,
  createPartner,
  OPS_TOKEN,
  ops,
  startApp,
  TestApp,
  waitFor,
} from './support/app';
import { createConnection, payoutEvent, signStandard } from './support/webhooks';

const PAYOUTS = 200;
const ROOT = join(__dirname, '..');
/** Where the kills fall changes with every run; CRASH_SEED=<n> repeats a run's (failures name the seed). */
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);

/** Three moments for the kills, each drawn from its own part of the flow: early, middle and late. */
function killMilestones(seed: number): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  return [
    [5, 50],
    [60, 110],
    [115, 145],
  ].map(([low, high]) => low + Math.floor(next() * (high - low + 1)));
}

/**
 * The worker runs as a child process and is killed with SIGKILL at several moments while 200 payouts flow (one
 * while they are still arriving, three after a number of them finished that is drawn anew each run),
 * then started again (once it is stopped gracefully with SIGTERM instead and must exit cleanly). At the end every payout is settled or failed, the sandbox moved money exactly once per
 * settled payout, and the ledger balances.
 */
describe('crash recovery (e2e, worker killed with SIGKILL)', () => {
  let t: TestApp;
  let worker: ChildProcess | null = null;
  let workerPort = 0;

  /** A port nothing listens on now, for the next worker: the test asks it whether it is up. */
  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  async function startWorker(): Promise<void> {
    workerPort = await freePort();
    worker = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ROLE: 'worker',
        PORT: String(workerPort),
        OPS_TOKEN,
        LOG_LEVEL: 'silent',
        SANDBOX_SETTLE_AFTER_MS: '100',
        SWEEP_INTERVAL_MS: '300',
        SWEEP_STALE_AFTER_MS: '1500',
        WORKER_CONCURRENCY: '8',
        BREAKER_FAILURE_THRESHOLD: '1000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  /**
   * Until the worker answers on its port: it takes SIGTERM as a graceful stop only from then on (before, the
   * signal ends it as it ends any process).
   */
  function workerListening(): Promise<true> {
    return waitFor(
      async () => (await fetch(`http://127.0.0.1:${workerPort}/health/live`).catch(() => null))?.ok === true,
      { timeoutMs: 60_000, what: 'the worker to listen' },
    );
  }

  /** Stops the worker; answers its exit code (null when a signal ended it). */
  function stopWorker(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<number | null> {
    const child = worker;
    worker = null;
    if (!child || child.exitCode !== null) return Promise.resolve(child?.exitCode ?? null);
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    });
  }

  beforeAll(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-if-needed.js')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    t = await startApp({}, { role: 'api' });
  }, 240_000);

  afterAll(async () => {
    await stopWorker();
    await t.close();
  });

  async function count(statuses: string[], ids: string[]): Promise<number> {
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM payouts WHERE status = ANY($1::text[]) AND connection_id = ANY($2::uuid[])`,
      [statuses, ids],
    );
    return n;
  }

  it('settles every payout exactly once across repeated worker crashes', async () => {
    const partner = await createPartner(t.http);
    const connection = await createConnection(t.http, partner.apiKey, 'upwork');
    const freelancers = await Promise.all(
      Array.from({ length: 10 }, () => createFreelancer(t.http, partner.apiKey)),
    );

    await startWorker();
    for (let i = 0; i < PAYOUTS; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => {
          const event = payoutEvent({
            freelancerRef: freelancers[(i + j) % freelancers.length].externalRef,
            amount: `${100 + i + j}.25`,
          });
          const body = JSON.stringify(event);
          return t.http
            .post(`/v1/webhooks/${connection.id}`)
            .set(signStandard(connection.signingSecret, `crash-${i + j}-${Date.now()}`, body))
            .send(body)
            .expect(202);
        }),
      );
      if (i === 60) {
        // Null: the kill ended a worker that was still running (it had not died on its own).
        expect(await stopWorker()).toBeNull();
        await startWorker();
      }
    }

    for (const milestone of killMilestones(SEED)) {
      await waitFor(async () => (await count(['settled', 'failed'], [connection.id])) >= milestone, {
        timeoutMs: 120_000,
        what: `${milestone} finished payouts (CRASH_SEED=${SEED})`,
      });
      expect(await stopWorker()).toBeNull();
      await startWorker();
    }

    // A graceful stop mid-flow: the worker finishes or releases what it holds and exits cleanly.
    await waitFor(async () => (await count(['settled', 'failed'], [connection.id])) >= 150, {
      timeoutMs: 120_000,
      what: '150 finished payouts',
    });
    await workerListening();
    expect(await stopWorker('SIGTERM')).toBe(0);
    await startWorker();

    await waitFor(async () => (await count(['settled', 'failed'], [connection.id])) === PAYOUTS, {
      timeoutMs: 180_000,
      intervalMs: 250,
      what: 'every payout to finish',
    });
    expect(await count(['settled'], [connection.id])).toBe(PAYOUTS);

    const [moved] = await t.db.query(
      `SELECT count(*)::int AS transfers, count(DISTINCT s.payout_id)::int AS payouts, coalesce(sum(s.amount), 0)::text AS amount,
              (SELECT sum(gross)::text FROM payouts WHERE connection_id = $1) AS gross
       FROM sandbox_transfers s JOIN payouts p ON p.id::text = s.payout_id WHERE p.connection_id = $1`,
      [connection.id],
    );
    expect(moved.transfers).toBe(PAYOUTS);
    expect(moved.payouts).toBe(PAYOUTS);
    expect(moved.amount).toBe(moved.gross);

    const trial = await t.http.get('/v1/ops/ledger/trial-balance').set(ops).expect(200);
    expect(trial.body.currencies.map((c: { currency: string }) => c.currency)).toContain('USD');
    for (const c of trial.body.currencies) expect(c.debits).toBe(c.credits);

    const [nets] = await t.db.query(`SELECT sum(net)::text AS total FROM payouts WHERE connection_id = $1`, [
      connection.id,
    ]);
    let settled = 0n;
    for (const f of freelancers) {
      const balance = await t.http
        .get(`/v1/freelancers/${f.id}/balance`)
        .set(bearer(partner.apiKey))
        .expect(200);
      expect(balance.body.inTransit).toBe('0.00');
      settled += BigInt(balance.body.settled.replace('.', ''));
    }
    expect(settled).toBe(BigInt(nets.total.replace('.', '')));
  }, 400_000);
});
