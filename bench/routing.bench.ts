/**
 * `npm run bench -- routing [--duration 6] [--rounds 3] [--connections 16]`
 *
 * 1. The pure decision (rankRoutes + quote views) on the real catalog and on a synthetic 1,000-route one.
 * 2. POST /v1/quotes under autocannon against the built app (a child process from dist, ROLE=api, on a fresh
 *    database and Redis prefix of its own), beside a bare Fastify endpoint calling the same pure function,
 *    also as a child process, with the same load.
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { MoneyDecimal, parseAmount } from '../src/money/money';
import { CATALOG_FILE, catalogFromFile, CatalogRoute } from '../src/routing/catalog';
import { ProviderAvailability, quoteView, rankRoutes, RoutingInput } from '../src/routing/ranking';
import {
  APP_MAIN,
  createPartner,
  freePort,
  OPS_TOKEN,
  startChild,
  stopChild,
  waitUntilUp,
} from './support/child-app';
import { latencies, thousands } from './support/figures';
import { textOption } from './support/options';
import { removeScratch, scratchNames } from './support/scratch';
const BARE_PORT_ENV = 'ROUTING_BENCH_BARE_PORT';
const QUOTE_BODY = { platform: 'upwork', amount: '1250.00', currency: 'USD', accountKind: 'bank_fcy' };

/** The pure function both HTTP servers call: rank, then format the quotes as the contract shows them. */
function decide(
  routes: readonly CatalogRoute[],
  providers: ReadonlyMap<string, ProviderAvailability>,
  input: RoutingInput,
) {
  const { quotes, rejected } = rankRoutes(routes, providers, input);
  const views = quotes.map(quoteView);
  return { chosen: views[0]?.routeId ?? null, quotes: views, rejected };
}

/** A small deterministic generator, so every run measures the same synthetic catalog. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLATFORMS = ['upwork', 'fiverr', 'payoneer', 'toptal', 'deel', 'guru', 'stripe'];
const PROVIDER_IDS = CATALOG_FILE.providers.map((p) => p.id);
const allAvailable = () => new Map(PROVIDER_IDS.map((id) => [id, 'available' as ProviderAvailability]));

function syntheticCatalog(size: number): CatalogRoute[] {
  const random = mulberry32(42);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const cents = (max: number) => new MoneyDecimal(Math.floor(random() * max)).dividedBy(100);
  return Array.from({ length: size }, (_, i) => {
    const floor = random() < 0.3 ? cents(500) : null;
    return {
      id: `synthetic-${String(i).padStart(4, '0')}`,
      provider: pick(PROVIDER_IDS),
      rail: pick(['swift', 'payoneer_withdrawal', 'usd_wallet']),
      platforms: PLATFORMS.filter(() => random() < 0.4),
      accountKinds: random() < 0.7 ? ['bank_fcy'] : ['bank_fcy', 'fintech_usd'],
      deliversCurrency: random() < 0.85 ? 'USD' : 'PKR',
      active: random() < 0.95,
      fees: {
        version: 1,
        fixedFee: cents(3000),
        percentFee: new MoneyDecimal(Math.floor(random() * 400)).dividedBy(100),
        percentMin: floor,
        percentMax: random() < 0.2 ? cents(5000).plus(floor ?? 0) : null,
        fxSpreadBps: random() < 0.3 ? Math.floor(random() * 200) : 0,
        intermediaryFee: random() < 0.5 ? cents(3000) : new MoneyDecimal(0),
        minAmount: new MoneyDecimal('0.01'),
        maxAmount: new MoneyDecimal(random() < 0.8 ? '1000000.00' : '25000.00'),
        etaHours: pick([24, 48, 96, 120, 168]),
      },
    };
  });
}

function sampleInputs(count: number): RoutingInput[] {
  const random = mulberry32(7);
  return Array.from({ length: count }, () => ({
    platform: PLATFORMS[Math.floor(random() * PLATFORMS.length)],
    gross: new MoneyDecimal(Math.floor(random() * 5_000_000) + 1).dividedBy(100),
    accountKind: random() < 0.8 ? 'bank_fcy' : 'fintech_usd',
  }));
}

function benchPure(label: string, routes: CatalogRoute[], budgetMs: number): void {
  const inputs = sampleInputs(512);
  const providers = allAvailable();
  let quoted = 0;
  for (let i = 0; i < 200; i++) decide(routes, providers, inputs[i % inputs.length]);
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(budgetMs) * 1_000_000n;
  let decisions = 0;
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 50; i++) {
      quoted += decide(routes, providers, inputs[decisions % inputs.length]).quotes.length;
      decisions += 1;
    }
  }
  const elapsedNs = Number(process.hrtime.bigint() - started);
  const perSecond = decisions / (elapsedNs / 1e9);
  console.log(
    `  ${label.padEnd(34)} ${thousands(perSecond, 9)} decisions/s  ` +
      `${(elapsedNs / 1000 / decisions).toFixed(2).padStart(8)} µs/decision  ` +
      `(${(quoted / decisions).toFixed(1)} quotes per decision on average)`,
  );
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  connections: number,
  method: 'GET' | 'POST' = 'POST',
) {
  const options = {
    url,
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: method === 'POST' ? JSON.stringify(QUOTE_BODY) : undefined,
    connections,
  };
  await autocannon({ ...options, duration: 2 });
  const result = await autocannon({ ...options, duration: seconds });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  } satisfies LoadResult;
}

function printLoad(label: string, r: LoadResult): void {
  console.log(
    `  ${label.padEnd(44)} ${thousands(r.rps, 7)} req/s  ${latencies(r)}` +
      (r.non2xx || r.errors ? `  (non-2xx ${r.non2xx}, errors ${r.errors})` : ''),
  );
}

async function benchHttp(
  seconds: number,
  connections: number,
  rounds: number,
  logLevel: string,
): Promise<void> {
  const scratch = scratchNames('routing');
  const { databaseUrl, queuePrefix } = scratch;
  const appPort = await freePort();
  const barePort = await freePort();
  const app = startChild([APP_MAIN], {
    NODE_ENV: 'development',
    ROLE: 'api',
    PORT: String(appPort),
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: queuePrefix,
    OPS_TOKEN,
    LOG_LEVEL: logLevel,
    PARTNER_RATE_LIMIT_PER_SECOND: '1000000000',
  });
  // Both servers run throughout, idle while the other is loaded: the machine's speed drifts over a run, so the
  // two are measured in alternating rounds and compared round by round.
  const bare = startChild([__filename], { [BARE_PORT_ENV]: String(barePort) });
  try {
    await waitUntilUp(`http://127.0.0.1:${appPort}/health/ready`, app);
    await waitUntilUp(`http://127.0.0.1:${barePort}/ready`, bare);
    const { apiKey } = await createPartner(`http://127.0.0.1:${appPort}`, 'bench');
    const check = await fetch(`http://127.0.0.1:${appPort}/v1/quotes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(QUOTE_BODY),
    });
    if (check.status !== 200)
      throw new Error(`POST /v1/quotes answered ${check.status}: ${await check.text()}`);

    console.log(
      `\nPOST /v1/quotes, autocannon: ${connections} connections, ${seconds} s after a 2 s warm-up, one server ` +
        `process each, ${rounds} alternating rounds`,
    );
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const viaApp = await load(
        `http://127.0.0.1:${appPort}/v1/quotes`,
        { authorization: `Bearer ${apiKey}` },
        seconds,
        connections,
      );
      const viaBare = await load(`http://127.0.0.1:${barePort}/v1/quotes`, {}, seconds, connections);
      ratios.push(viaApp.rps / viaBare.rps);
      printLoad(`round ${round}: app (ROLE=api, LOG_LEVEL=${logLevel}, key + limit)`, viaApp);
      printLoad(`round ${round}: bare Fastify, the same pure function`, viaBare);
    }
    // The framework's floor in the same process: no guard, no Postgres, no Redis, no body.
    printLoad(
      'app GET /health/live (Nest floor, no guard)',
      await load(`http://127.0.0.1:${appPort}/health/live`, {}, seconds, connections, 'GET'),
    );
    const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
    console.log(
      `  app / bare by round: ${ratios.map((r) => `${(r * 100).toFixed(1)} %`).join(', ')}; median ` +
        `${(median * 100).toFixed(1)} %   (goal: over 5,000 req/s, p99 under 10 ms, at least 70 % of bare)`,
    );
  } finally {
    await stopChild(app);
    await stopChild(bare);
    await removeScratch(scratch);
  }
}

/** The baseline server: Fastify, JSON in, the pure decision on the real catalog, JSON out. Nothing else. */
async function serveBare(port: number): Promise<void> {
  const routes = catalogFromFile();
  const providers = allAvailable();
  const fastify = Fastify();
  fastify.get('/ready', async () => ({ status: 'ok' }));
  fastify.post('/v1/quotes', async (request) => {
    const body = request.body as typeof QUOTE_BODY;
    return decide(routes, providers, {
      platform: body.platform,
      gross: parseAmount(body.amount),
      accountKind: body.accountKind,
    });
  });
  await fastify.listen({ port, host: '127.0.0.1' });
}

export async function run(args: string[]): Promise<void> {
  const seconds = Number(textOption(args, 'duration', '6'));
  const rounds = Number(textOption(args, 'rounds', '3'));
  const connections = Number(textOption(args, 'connections', '16'));
  const logLevel = textOption(args, 'log-level', 'info');

  console.log('Pure decision (rankRoutes + quote views), one core:');
  benchPure(`real catalog (${CATALOG_FILE.routes.length} routes)`, catalogFromFile(), 2000);
  benchPure('synthetic catalog (1,000 routes)', syntheticCatalog(1000), 2000);
  await benchHttp(seconds, connections, rounds, logLevel);
}

if (require.main === module && process.env[BARE_PORT_ENV]) {
  serveBare(Number(process.env[BARE_PORT_ENV])).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
