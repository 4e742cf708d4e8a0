/**
 * `npm run bench -- pipeline [--n 5000] [--concurrency 64] [--profile <dir>]`: payouts per second end to end, from signed webhook
 * to settled and booked, with the built app as an api process and a worker process on a fresh database.
 * Baseline in the same run: the intake alone (webhooks accepted per second with no worker), the ceiling the
 * pipeline cannot beat; then the worker drains that backlog; then a second batch runs end to end.
 * `--profile` writes a CPU profile of the api and the worker processes into that folder.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { Webhook } from 'standardwebhooks';
import { createDatabaseIfMissing, dropDatabase, runMigrations } from '../src/database/prepare-database';

const ROOT = join(__dirname, '..', '..');
const OPS_TOKEN = 'bench-ops-token-0123456789';

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  const value = at >= 0 ? Number(args[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

function start(
  role: 'api' | 'worker',
  port: number,
  env: Record<string, string>,
  profileDir?: string,
): ChildProcess {
  const profile = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${role}.cpuprofile`]
    : [];
  return spawn(process.execPath, [...profile, join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...env, ROLE: role, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function until(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function call(
  base: string,
  path: string,
  body: unknown,
  auth: string,
): Promise<Record<string, string>> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, string>;
}

export async function run(args: string[]): Promise<void> {
  const n = option(args, 'n', 5000);
  const concurrency = option(args, 'concurrency', 64);
  const profileAt = args.indexOf('--profile');
  const profileDir = profileAt >= 0 ? args[profileAt + 1] : undefined;
  const suffix = randomBytes(4).toString('hex');
  const databaseUrl = `postgres://postgres@127.0.0.1:5432/payouts_bench_${suffix}`;
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: `payouts-bench-${suffix}`,
    OPS_TOKEN,
    LOG_LEVEL: 'error',
    SANDBOX_SETTLE_AFTER_MS: '0',
    RETURN_CHECK_DELAY_MS: '3600000',
    WORKER_CONCURRENCY: '32',
    PARTNER_RATE_LIMIT_PER_SECOND: '100000',
    WEBHOOK_RATE_LIMIT_PER_SECOND: '100000',
  };
  await createDatabaseIfMissing(databaseUrl);
  await runMigrations(databaseUrl);
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const apiPort = 3900 + Math.floor(Math.random() * 50);
  const base = `http://127.0.0.1:${apiPort}`;
  const api = start('api', apiPort, env, profileDir);
  let worker: ChildProcess | null = null;
  try {
    await until(
      () =>
        fetch(`${base}/health/ready`).then(
          (r) => r.ok,
          () => false,
        ),
      60_000,
      'the api',
    );
    const partner = await call(base, '/v1/ops/partners', { name: 'Bench' }, OPS_TOKEN);
    const connection = await call(base, '/v1/platform-connections', { platform: 'upwork' }, partner.apiKey);
    const refs: string[] = [];
    for (let i = 0; i < 50; i += 1) {
      const f = await call(
        base,
        '/v1/freelancers',
        { externalRef: `bench-${i}`, name: 'Bench Freelancer', cnic: '35202-1234567-1' },
        partner.apiKey,
      );
      await call(
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
            const body = JSON.stringify({
              type: 'payout.available',
              timestamp: new Date().toISOString(),
              data: {
                payoutId: id,
                freelancerRef: refs[i % refs.length],
                amount: `${100 + (i % 5000)}.00`,
                currency: 'USD',
                client: { name: 'Acme Inc', country: 'US' },
                description: 'Benchmark work',
                serviceCategory: 'software_development',
              },
            });
            const now = new Date();
            const res = await fetch(`${base}/v1/webhooks/${connection.id}`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'webhook-id': id,
                'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
                'webhook-signature': signer.sign(id, now, body),
              },
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

    worker = start('worker', apiPort + 100, env, profileDir);
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
        `payouts per batch: ${n}, client concurrency: ${concurrency}, one api and one worker process (2 cores)`,
        `baseline, intake only (no worker):   ${fmt(intakeRate)} webhooks/s accepted (${intakeSeconds.toFixed(1)} s)`,
        `worker draining that backlog:        ${fmt(n / drainSeconds)} payouts/s settled and booked (${drainSeconds.toFixed(1)} s)`,
        `end to end (webhook → settled):      ${fmt(n / e2eSeconds)} payouts/s (${e2eSeconds.toFixed(1)} s; posting took ${postSeconds.toFixed(1)} s, drain after it ${(e2eSeconds - postSeconds).toFixed(1)} s)`,
        `end to end / intake baseline:        ${((n / e2eSeconds / intakeRate) * 100).toFixed(0)} %`,
        `ledger: ${rows[0].entries} entries, imbalance ${rows[0].imbalance}, payouts not settled: ${rows[0].unsettled}`,
        '',
      ].join('\n'),
    );
  } finally {
    worker?.kill('SIGTERM');
    api.kill('SIGTERM');
    await db.end();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await dropDatabase(databaseUrl);
  }
}
