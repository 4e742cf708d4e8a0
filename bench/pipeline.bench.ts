/**
 * `npm run bench -- pipeline [--n 5000] [--concurrency 64] [--workers 1] [--worker-concurrency 32] [--profile <dir>]`: payouts per second
 * end to end, from signed webhook to settled and booked, with the built app as an api process and worker
 * processes on a fresh database. Baseline in the same run: the intake alone (webhooks accepted per second with
 * no worker), the ceiling the pipeline cannot beat; then the workers drain that backlog; then a second batch
 * runs end to end. `--profile` writes a CPU profile of every process into that folder.
 */
import { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { Webhook } from 'standardwebhooks';
import {
  APP_MAIN,
  createPartner,
  freePort,
  OPS_TOKEN,
  postJson,
  startChild,
  stopChild,
  waitUntilUp,
} from './support/child-app';
import { optionalTextOption, positiveIntegerOption } from './support/options';
import { signedPayoutDelivery } from './support/payout-webhook';
import { createMigratedDatabase, removeScratch, scratchNames } from './support/scratch';

function start(
  role: 'api' | 'worker',
  port: number,
  env: Record<string, string>,
  profileDir?: string,
): ChildProcess {
  const profile = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${role}-${port}.cpuprofile`]
    : [];
  return startChild([...profile, APP_MAIN], { ...env, ROLE: role, PORT: String(port) });
}

async function until(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function run(args: string[]): Promise<void> {
  const n = positiveIntegerOption(args, 'n', 5000);
  const concurrency = positiveIntegerOption(args, 'concurrency', 64);
  const workerCount = positiveIntegerOption(args, 'workers', 1);
  const workerConcurrency = positiveIntegerOption(args, 'worker-concurrency', 32);
  const profileDir = optionalTextOption(args, 'profile');
  const scratch = scratchNames();
  const { databaseUrl, queuePrefix } = scratch;
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: queuePrefix,
    OPS_TOKEN,
    LOG_LEVEL: 'error',
    SANDBOX_SETTLE_AFTER_MS: '0',
    RETURN_CHECK_DELAY_MS: '3600000',
    WORKER_CONCURRENCY: String(workerConcurrency),
    PARTNER_RATE_LIMIT_PER_SECOND: '100000',
    WEBHOOK_RATE_LIMIT_PER_SECOND: '100000',
  };
  await createMigratedDatabase(databaseUrl);
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const api = start('api', apiPort, env, profileDir);
  const workers: ChildProcess[] = [];
  try {
    await waitUntilUp(`${base}/health/ready`, api);
    const partner = await createPartner(base, 'Bench');
    const connection = await postJson(
      base,
      '/v1/platform-connections',
      { platform: 'upwork' },
      partner.apiKey,
    );
    const refs: string[] = [];
    for (let i = 0; i < 50; i += 1) {
      const f = await postJson(
        base,
        '/v1/freelancers',
        { externalRef: `bench-${i}`, name: 'Bench Freelancer', cnic: '35202-1234567-1' },
        partner.apiKey,
      );
      await postJson(
        base,
        `/v1/freelancers/${f.id}/accounts`,
        { kind: 'bank_fcy', institution: 'Meezan Bank', iban: 'PK36SCBL0000001123456702', title: 'Bench' },
        partner.apiKey,
      );
      refs.push(`bench-${i}`);
    }
    const signer = new Webhook(connection.signingSecret);

    const post = async (batch: string, count: number): Promise<number> => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next++; i < count; i = next++) {
            const id = `${batch}-${i}`;
            const { headers, body } = signedPayoutDelivery(signer, id, {
              payoutId: id,
              freelancerRef: refs[i % refs.length],
              amount: `${100 + (i % 5000)}.00`,
              description: 'Benchmark work',
            });
            const res = await fetch(`${base}/v1/webhooks/${connection.id}`, {
              method: 'POST',
              headers,
              body,
            });
            if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
            await res.arrayBuffer();
          }
        }),
      );
      return (performance.now() - started) / 1000;
    };
    const settled = async (): Promise<number> => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM payouts WHERE status = 'settled'`);
      return rows[0].n;
    };

    const intakeSeconds = await post('backlog', n);
    const intakeRate = n / intakeSeconds;

    for (let i = 0; i < workerCount; i += 1) workers.push(start('worker', await freePort(), env, profileDir));
    const drainStarted = performance.now();
    await until(async () => (await settled()) >= n, 600_000, 'the backlog to settle');
    const drainSeconds = (performance.now() - drainStarted) / 1000;

    const e2eStarted = performance.now();
    const postSeconds = await post('live', n);
    await until(async () => (await settled()) >= 2 * n, 600_000, 'the live batch to settle');
    const e2eSeconds = (performance.now() - e2eStarted) / 1000;

    const { rows } = await db.query(
      `SELECT (SELECT count(*)::int FROM ledger_entries) AS entries,
              (SELECT count(*)::int FROM payouts WHERE status <> 'settled') AS unsettled,
              (SELECT sum(CASE side WHEN 'debit' THEN amount ELSE -amount END)::text FROM ledger_lines) AS imbalance`,
    );
    const fmt = (x: number) => x.toFixed(0).padStart(8);
    process.stdout.write(
      [
        `payouts per batch: ${n}, client concurrency: ${concurrency}, one api and ${workerCount} worker process${workerCount > 1 ? 'es' : ''} of ${workerConcurrency} jobs at once (2 cores)`,
        `baseline, intake only (no worker):   ${fmt(intakeRate)} webhooks/s accepted (${intakeSeconds.toFixed(1)} s)`,
        `worker draining that backlog:        ${fmt(n / drainSeconds)} payouts/s settled and booked (${drainSeconds.toFixed(1)} s)`,
        `end to end (webhook → settled):      ${fmt(n / e2eSeconds)} payouts/s (${e2eSeconds.toFixed(1)} s; posting took ${postSeconds.toFixed(1)} s, drain after it ${(e2eSeconds - postSeconds).toFixed(1)} s)`,
        `end to end / intake baseline:        ${((n / e2eSeconds / intakeRate) * 100).toFixed(0)} %`,
        `ledger: ${rows[0].entries} entries, imbalance ${rows[0].imbalance}, payouts not settled: ${rows[0].unsettled}`,
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all(workers.map((w) => stopChild(w)));
    await stopChild(api);
    await db.end();
    await removeScratch(scratch);
  }
}
