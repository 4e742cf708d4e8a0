import { Queue } from 'bullmq';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/app-config';
import { dataSourceOptions } from '../src/database/data-source-options';
import { JobIds, QUEUES } from '../src/queues/queues';
import { createFreelancer, createPartner, OPS_TOKEN, ops, startApp, waitFor } from './support/app';
import { sendUnderWay } from './support/payouts';
import { announcePayout, createConnection } from './support/webhooks';

const ROOT = join(__dirname, '..');

/**
 * A graceful stop waits for Redis and Postgres to let go of what the process holds. One that never answers must
 * not hold the process for ever: past SHUTDOWN_TIMEOUT_MS it exits anyway, saying so.
 */
describe('shutdown while Redis does not answer (e2e, the built app as a child process)', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-if-needed.js')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }, 240_000);

  it('exits within SHUTDOWN_TIMEOUT_MS of SIGTERM, with a line saying why, instead of waiting for ever', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        // Nothing listens there: the queues never connect, and closing them never finishes.
        REDIS_URL: 'redis://127.0.0.1:1',
        PORT: '0',
        OPS_TOKEN,
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: '1500',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await waitFor(async () => stdout.includes('Nest application successfully started'), {
        timeoutMs: 60_000,
        what: 'the app to start',
      });
      child.kill('SIGTERM');
      const exit = await waitFor(async () => (child.exitCode === null ? null : { code: child.exitCode }), {
        timeoutMs: 20_000,
        what: 'the app to exit after SIGTERM',
      });
      expect(exit.code).toBe(1);
      expect(stderr).toContain(
        'Shutdown did not finish within 1500 ms (SHUTDOWN_TIMEOUT_MS); exiting anyway.',
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});

describe('a graceful stop with a send in flight (e2e, workers in process)', () => {
  it('lets the send finish and hand its settlement poll to the queue before the queues close', async () => {
    const config = loadConfig();
    const db = await new DataSource(dataSourceOptions(config.databaseUrl)).initialize();
    const settle = new Queue(QUEUES.settlePayout, {
      prefix: config.queuePrefix,
      connection: {
        host: new URL(config.redisUrl).hostname,
        port: Number(new URL(config.redisUrl).port || 6379),
      },
    });
    const t = await startApp({ SANDBOX_SETTLE_AFTER_MS: '60000' }, { role: 'all' });
    let closed = false;
    try {
      // The send waits out the provider's latency when the stop comes; the stop cuts the wait short. The transfer
      // then settles a minute later, whatever an earlier suite of the run left in payoneer's settings.
      await t.http
        .put('/v1/ops/sandbox/providers/payoneer')
        .set(ops)
        .send({ latencyMs: 60_000, settleAfterMs: 60_000 })
        .expect(200);
      const partner = await createPartner(t.http);
      const connection = await createConnection(t.http, partner.apiKey, 'upwork');
      const freelancer = await createFreelancer(t.http, partner.apiKey);
      const payoutId = await announcePayout(t, connection, freelancer.externalRef, '1250.00');
      await sendUnderWay(t, payoutId);
      await t.close();
      closed = true;

      const [attempt] = await db.query(`SELECT id, status FROM payout_attempts WHERE payout_id = $1`, [
        payoutId,
      ]);
      expect(attempt.status).toBe('accepted');
      const job = await settle.getJob(JobIds.settle(attempt.id));
      expect(job?.data).toEqual(expect.objectContaining({ payoutId, attemptId: attempt.id }));
      await job!.remove();
    } finally {
      if (!closed) await t.close();
      await db.query(`DELETE FROM sandbox_provider_settings WHERE provider_id = 'payoneer'`);
      await settle.close();
      await db.destroy();
    }
  });
});
