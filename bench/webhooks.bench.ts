/**
 * `npm run bench -- webhooks [--duration 8] [--connections 32] [--rate 1000] [--log-level warn] [--role all]`
 *
 * Signed standard-webhooks deliveries with distinct ids, under autocannon, against:
 * 1. the built app (dist/src/main.js, on a fresh database and Redis prefix of its own) with the worker routing
 *    what comes in: in the same process (`--role all`), or as docker-compose.yml deploys it, an api process
 *    and a worker process (`--role split`; on two cores the two processes contend, and this measured worse);
 *    `--role api` runs no worker. p50/p99 at a steady rate, then accepted webhooks per second at full load;
 * 2. the baseline, a bare Fastify child process (no Nest) that verifies the same signature and inserts the
 *    same row into the same table, under the same two loads.
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { Pool } from 'pg';
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
import { latencies, thousands } from './support/figures';
import { textOption } from './support/options';
import { signedPayoutDelivery } from './support/payout-webhook';
import { createMigratedDatabase, removeScratch, scratchNames } from './support/scratch';

const SECRETS_KEY = randomBytes(32).toString('base64');
const BASELINE_ENV = 'WEBHOOKS_BENCH_BASELINE';
const CONNECTIONS_PER_SERVER = 8;

interface BenchConnection {
  id: string;
  partnerId: string;
  secret: string;
}

interface LoadResult {
  accepted: number;
  acceptedPerSecond: number;
  p50: number;
  p99: number;
  other: number;
  errors: number;
}

interface SignedDelivery {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Signs new events (distinct webhook-id and platform payout id) with the official Standard Webhooks client. */
function deliveryMaker(connections: BenchConnection[], label: string): () => SignedDelivery {
  const signers = connections.map((c) => new Webhook(c.secret));
  let signed = 0;
  return () => {
    signed += 1;
    const at = signed % connections.length;
    const id = `${label}-${signed}`;
    return {
      path: `/v1/webhooks/${connections[at].id}`,
      ...signedPayoutDelivery(signers[at], id, {
        payoutId: `PO-${id}`,
        freelancerRef: 'fl-bench',
        amount: '1250.00',
        description: 'Web development, milestone 3',
      }),
    };
  };
}

/** `count` deliveries are signed before the load starts, so autocannon spends its time sending. */
function signedRequests(connections: BenchConnection[], label: string, count: number): autocannon.Request[] {
  const sign = deliveryMaker(connections, label);
  const ready = Array.from({ length: count }, sign);
  let next = 0;
  return [
    {
      method: 'POST',
      setupRequest: (request) => ({ ...request, ...(next < ready.length ? ready[next++] : sign()) }),
    },
  ];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Open-loop load at a steady rate: request i is due at start + i/rate and its latency counts from that
 * moment, so a server (or this client) falling behind shows in the figures instead of hiding in a burst.
 * autocannon's rate limit sends each second's budget at once, which measures bursts, not a steady rate.
 */
async function paced(
  baseUrl: string,
  connections: BenchConnection[],
  label: string,
  options: { seconds: number; rate: number },
): Promise<LoadResult> {
  const sign = deliveryMaker(connections, label);
  const total = options.rate * options.seconds;
  const ready = Array.from({ length: total }, sign);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const target = new URL(baseUrl);
  const latencies: number[] = [];
  let accepted = 0;
  let other = 0;
  let errors = 0;
  const inFlight = new Set<Promise<void>>();
  const send = (delivery: SignedDelivery, dueAt: number) => {
    const done = new Promise<void>((resolve) => {
      const req = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: 'POST',
          path: delivery.path,
          headers: delivery.headers,
          agent,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - dueAt);
            if (res.statusCode === 202) accepted += 1;
            else other += 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(delivery.body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * options.rate) / 1000) + 1);
    for (; sent < due; sent++) send(ready[sent], start + (sent * 1000) / options.rate);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all([...inFlight]);
  agent.destroy();
  latencies.sort((x, y) => x - y);
  return {
    accepted,
    acceptedPerSecond: accepted / ((performance.now() - start) / 1000),
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
    other,
    errors,
  };
}

async function load(
  baseUrl: string,
  connections: BenchConnection[],
  label: string,
  options: { seconds: number; connections: number; rate?: number },
): Promise<LoadResult> {
  const expected = (options.rate ?? 4000) * options.seconds;
  const result = await autocannon({
    url: baseUrl,
    connections: options.connections,
    duration: options.seconds,
    overallRate: options.rate,
    requests: signedRequests(connections, `${label}-${randomUUID().slice(0, 8)}`, expected),
  });
  const stats = (result as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats;
  const accepted = stats['202']?.count ?? 0;
  const total = Object.values(stats).reduce((sum, s) => sum + s.count, 0);
  return {
    accepted,
    acceptedPerSecond: accepted / options.seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    other: total - accepted,
    errors: result.errors + result.timeouts,
  };
}

function printLoad(label: string, r: LoadResult): void {
  console.log(
    `  ${label.padEnd(40)} ${thousands(r.acceptedPerSecond, 6)} accepted/s  ${latencies(r, 4)}` +
      (r.other || r.errors ? `  (other answers ${r.other}, errors ${r.errors})` : ''),
  );
}

async function countEvents(databaseUrl: string, connections: BenchConnection[]): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM webhook_events WHERE connection_id = ANY($1::uuid[])`,
      [connections.map((c) => c.id)],
    );
    return rows[0].n;
  } finally {
    await pool.end();
  }
}

async function createConnections(baseUrl: string): Promise<BenchConnection[]> {
  const { id: partnerId, apiKey } = await createPartner(baseUrl, 'bench');
  const connections: BenchConnection[] = [];
  for (let i = 0; i < CONNECTIONS_PER_SERVER; i++) {
    const body = await postJson(baseUrl, '/v1/platform-connections', { platform: 'upwork' }, apiKey, 201);
    connections.push({ id: body.id, partnerId, secret: body.signingSecret });
  }
  return connections;
}

/**
 * Warm-up and the steady rate first, from a quiet start (with ROLE=all the worker routes as events arrive);
 * then full load, whose backlog the worker is still routing when the run ends.
 */
async function measure(
  name: string,
  baseUrl: string,
  connections: BenchConnection[],
  databaseUrl: string,
  options: { seconds: number; connections: number; rate: number },
): Promise<{ full: LoadResult; fixed: LoadResult; stored: number }> {
  await paced(baseUrl, connections, `${name}-warm`, { seconds: 2, rate: options.rate });
  const before = await countEvents(databaseUrl, connections);
  const fixed = await paced(baseUrl, connections, `${name}-fixed`, {
    seconds: options.seconds,
    rate: options.rate,
  });
  const full = await load(baseUrl, connections, `${name}-full`, {
    seconds: options.seconds,
    connections: options.connections,
  });
  const stored = (await countEvents(databaseUrl, connections)) - before;
  return { full, fixed, stored };
}

export async function run(args: string[]): Promise<void> {
  const seconds = Number(textOption(args, 'duration', '8'));
  const connections = Number(textOption(args, 'connections', '32'));
  const rate = Number(textOption(args, 'rate', '1000'));
  const logLevel = textOption(args, 'log-level', 'warn');
  const role = textOption(args, 'role', 'all');
  if (role !== 'split' && role !== 'all' && role !== 'api') throw new Error('--role is split, all or api');

  const scratch = scratchNames();
  const { databaseUrl, queuePrefix } = scratch;
  await createMigratedDatabase(databaseUrl);

  const appPort = await freePort();
  const appEnv = {
    NODE_ENV: 'production',
    PORT: String(appPort),
    PUBLIC_BASE_URL: `http://localhost:${appPort}`,
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: queuePrefix,
    OPS_TOKEN,
    SECRETS_KEY,
    INVOICE_SIGNING_KEY_PEM: generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
    LOG_LEVEL: logLevel,
  };
  const app = startChild([APP_MAIN], { ...appEnv, ROLE: role === 'split' ? 'api' : role });
  const worker =
    role === 'split'
      ? startChild([APP_MAIN], { ...appEnv, ROLE: 'worker', PORT: String(await freePort()) })
      : null;
  let baseline: ChildProcess | null = null;
  try {
    const appUrl = `http://127.0.0.1:${appPort}`;
    await waitUntilUp(`${appUrl}/health/ready`, app);
    const appConnections = await createConnections(appUrl);
    const viaApp = await measure('app', appUrl, appConnections, databaseUrl, { seconds, connections, rate });
    await stopChild(app);
    if (worker) await stopChild(worker);

    // The baseline gets its own connections' secrets in clear: it measures verify + insert and nothing else.
    const baselineConnections = appConnections.map((c) => ({
      ...c,
      secret: `whsec_${randomBytes(32).toString('base64')}`,
    }));
    const basePort = await freePort();
    baseline = startChild([__filename], {
      [BASELINE_ENV]: JSON.stringify({ port: basePort, databaseUrl, connections: baselineConnections }),
    });
    const baseUrl = `http://127.0.0.1:${basePort}`;
    await waitUntilUp(`${baseUrl}/ready`, baseline);
    const viaBaseline = await measure('baseline', baseUrl, baselineConnections, databaseUrl, {
      seconds,
      connections,
      rate,
    });

    console.log(
      `\nPOST /v1/webhooks/{connectionId}, signed standard-webhooks events with distinct ids, ${CONNECTIONS_PER_SERVER} connections;` +
        `\nafter a 2 s warm-up: a steady ${rate} req/s for ${seconds} s (open loop, latency from each request's due time),` +
        `\nthen full load (autocannon, ${connections} connections) for ${seconds} s:`,
    );
    printLoad(`app, steady ${rate} req/s (ROLE=${role}, LOG_LEVEL=${logLevel})`, viaApp.fixed);
    printLoad('app, full load', viaApp.full);
    printLoad(`bare Fastify baseline, steady ${rate} req/s`, viaBaseline.fixed);
    printLoad('bare Fastify baseline, full load', viaBaseline.full);
    console.log(
      `  app / baseline accepted rate: ${((viaApp.full.acceptedPerSecond / viaBaseline.full.acceptedPerSecond) * 100).toFixed(1)} %` +
        `   (goal: at least 60 %, and p99 under 50 ms at ${rate} req/s)`,
    );
    console.log(
      `  durability: app answered 202 ${viaApp.full.accepted + viaApp.fixed.accepted} times and stored ${viaApp.stored} events; ` +
        `baseline ${viaBaseline.full.accepted + viaBaseline.fixed.accepted} and ${viaBaseline.stored} ` +
        `(requests cut off when a run ends are stored without their answer being counted)`,
    );
  } finally {
    await stopChild(app);
    if (worker) await stopChild(worker);
    if (baseline) await stopChild(baseline);
    await removeScratch(scratch);
  }
}

/**
 * The baseline: Fastify, raw body kept, the Standard Webhooks HMAC checked in constant time with the
 * timestamp window, the same webhook_events row inserted (unique per connection and event id). Nothing else.
 */
async function serveBaseline(settings: {
  port: number;
  databaseUrl: string;
  connections: BenchConnection[];
}) {
  const byId = new Map(
    settings.connections.map((c) => [c.id, { ...c, key: Buffer.from(c.secret.slice(6), 'base64') }]),
  );
  const pool = new Pool({ connectionString: settings.databaseUrl, max: 20 });
  pool.on('error', (error) => console.error(`baseline: ${error.message}`));
  const fastify = Fastify({ bodyLimit: 256 * 1024 });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  fastify.get('/ready', async () => ({ status: 'ok' }));
  fastify.post<{ Params: { id: string }; Body: Buffer }>('/v1/webhooks/:id', async (request, reply) => {
    const connection = byId.get(request.params.id);
    if (!connection) return reply.status(404).send({ status: 404 });
    const id = request.headers['webhook-id'];
    const timestamp = request.headers['webhook-timestamp'];
    const signatures = request.headers['webhook-signature'];
    if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') {
      return reply.status(401).send({ status: 401 });
    }
    if (Math.abs(Number(timestamp) - Date.now() / 1000) > 300) return reply.status(401).send({ status: 401 });
    const expected = Buffer.from(
      createHmac('sha256', connection.key)
        .update(`${id}.${timestamp}.`)
        .update(request.body)
        .digest('base64'),
    );
    const valid = signatures.split(' ').some((entry) => {
      const given = Buffer.from(entry.slice(3));
      return entry.startsWith('v1,') && given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!valid) return reply.status(401).send({ status: 401 });
    const payload = JSON.parse(request.body.toString('utf8')) as { type?: string };
    const { rows } = await pool.query(
      `INSERT INTO webhook_events (connection_id, partner_id, event_id, event_type, status, raw_body, headers)
       VALUES ($1, $2, $3, $4, 'accepted', $5, $6)
       ON CONFLICT (connection_id, event_id) DO NOTHING RETURNING id`,
      [
        connection.id,
        connection.partnerId,
        id,
        payload.type ?? null,
        request.body,
        JSON.stringify({ 'webhook-id': id }),
      ],
    );
    return reply.status(rows.length ? 202 : 200).send({ eventId: id, duplicate: rows.length === 0 });
  });
  await fastify.listen({ port: settings.port, host: '127.0.0.1' });
}

if (require.main === module && process.env[BASELINE_ENV]) {
  serveBaseline(JSON.parse(process.env[BASELINE_ENV])).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
