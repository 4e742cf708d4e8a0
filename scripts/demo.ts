/**
 * `npm run demo`: a tour of the service for a newcomer, against a running instance (`npm start`).
 * Creates a partner, freelancers with dollar accounts and platform connections, sends signed webhooks from
 * several platforms, waits for the payouts to settle, and prints routes, fees, savings, invoices, the trial
 * balance and each provider's reconciliation. BASE_URL and OPS_TOKEN select the instance (defaults:
 * localhost:3000, the development token).
 */
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';

const BASE = process.env.BASE_URL ?? 'http://localhost:3000';
const OPS = process.env.OPS_TOKEN ?? 'dev-ops-token-change-me';

async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

interface Quote {
  routeId: string;
  provider: string;
  net: string;
  fees: { total: string };
}
interface Payout {
  id: string;
  platform: string;
  gross: string;
  status: string;
  route: Quote | null;
  candidates: Quote[];
  net: string | null;
  invoiceId: string | null;
}

const cents = (amount: string) => BigInt(amount.replace('.', ''));
const dollars = (c: bigint) =>
  `${c < 0n ? '-' : ''}${(c < 0n ? -c : c) / 100n}.${String((c < 0n ? -c : c) % 100n).padStart(2, '0')}`;

async function main(): Promise<void> {
  const ready = await fetch(`${BASE}/health/ready`).catch(() => null);
  if (!ready?.ok) throw new Error(`No ready service at ${BASE}: start it with "npm start" first.`);

  const started = new Date();
  const partner = await api<{ id: string; apiKey: string }>('POST', '/v1/ops/partners', OPS, {
    name: 'Demo Fintech',
  });
  const key = partner.apiKey;
  const today = new Date().toISOString().slice(0, 10);
  await api('PUT', '/v1/ops/fx-rates/USD-PKR', OPS, { rate: '278.45', asOf: today });

  const run = randomUUID().slice(0, 8);
  const people = [
    {
      ref: `ayesha-${run}`,
      name: 'Ayesha Khan',
      kind: 'bank_fcy',
      institution: 'Meezan Bank',
      pseb: 'PSEB-F-12345',
    },
    { ref: `bilal-${run}`, name: 'Bilal Ahmed', kind: 'bank_fcy', institution: 'HBL', pseb: undefined },
    { ref: `sana-${run}`, name: 'Sana Malik', kind: 'fintech_usd', institution: 'Zindigi', pseb: undefined },
  ];
  const freelancers = new Map<string, string>();
  for (const p of people) {
    const f = await api<{ id: string }>('POST', '/v1/freelancers', key, {
      externalRef: p.ref,
      name: p.name,
      cnic: '35202-1234567-1',
      ntn: '1234567-8',
      ...(p.pseb ? { psebRegistrationNo: p.pseb } : {}),
    });
    await api('POST', `/v1/freelancers/${f.id}/accounts`, key, {
      kind: p.kind,
      institution: p.institution,
      iban: 'PK36SCBL0000001123456702',
      title: p.name,
    });
    freelancers.set(p.ref, f.id);
  }

  const connections = new Map<string, { id: string; signingSecret: string; scheme: string }>();
  for (const platform of ['upwork', 'fiverr', 'payoneer', 'deel', 'stripe']) {
    connections.set(platform, await api('POST', '/v1/platform-connections', key, { platform }));
  }

  const sends: { platform: string; ref: string; amount: string; category: string }[] = [
    { platform: 'upwork', ref: people[0].ref, amount: '1250.00', category: 'web_development' },
    { platform: 'upwork', ref: people[0].ref, amount: '2400.00', category: 'software_development' },
    { platform: 'fiverr', ref: people[1].ref, amount: '180.00', category: 'graphic_design' },
    { platform: 'fiverr', ref: people[1].ref, amount: '3200.00', category: 'digital_marketing' },
    { platform: 'payoneer', ref: people[2].ref, amount: '640.00', category: 'content_writing' },
    { platform: 'deel', ref: people[0].ref, amount: '5000.00', category: 'data_analysis' },
    { platform: 'stripe', ref: people[2].ref, amount: '950.00', category: 'online_teaching' },
  ];
  const stripe = new Stripe('sk_test_demo_signing_only');
  const platformIds: string[] = [];
  for (const s of sends) {
    const connection = connections.get(s.platform)!;
    const payoutId = `${s.platform.toUpperCase()}-PO-${randomUUID().slice(0, 8)}`;
    platformIds.push(payoutId);
    let body: string;
    let headers: Record<string, string>;
    if (connection.scheme === 'stripe') {
      body = JSON.stringify({
        id: `evt_${randomUUID().replace(/-/g, '')}`,
        object: 'event',
        type: 'transfer.created',
        data: {
          object: {
            id: payoutId,
            amount: Number(cents(s.amount)),
            currency: 'usd',
            description: 'Online course, cohort 4',
            metadata: {
              freelancer_ref: s.ref,
              client_name: 'Learnly GmbH',
              client_country: 'DE',
              service_category: s.category,
            },
          },
        },
      });
      headers = {
        'stripe-signature': stripe.webhooks.generateTestHeaderString({
          payload: body,
          secret: connection.signingSecret,
        }),
      };
    } else {
      body = JSON.stringify({
        type: 'payout.available',
        timestamp: new Date().toISOString(),
        data: {
          payoutId,
          freelancerRef: s.ref,
          amount: s.amount,
          currency: 'USD',
          client: { name: 'Acme Inc', country: 'US' },
          description: `Work on ${s.category.replace('_', ' ')}`,
          serviceCategory: s.category,
        },
      });
      const id = `msg_${randomUUID()}`;
      const now = new Date();
      headers = {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(connection.signingSecret).sign(id, now, body),
      };
    }
    const res = await fetch(`${BASE}/v1/webhooks/${connection.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    if (res.status !== 202)
      throw new Error(`webhook for ${s.platform} answered ${res.status}: ${await res.text()}`);
  }

  process.stdout.write(`Sent ${sends.length} signed webhooks; waiting for the payouts to settle…\n`);
  let payouts: Payout[] = [];
  const deadline = Date.now() + 60_000;
  for (;;) {
    const page = await api<{ data: (Payout & { platformPayoutId: string })[] }>(
      'GET',
      '/v1/payouts?limit=100',
      key,
    );
    payouts = page.data.filter((p) => platformIds.includes(p.platformPayoutId));
    if (
      payouts.length === sends.length &&
      payouts.every((p) => ['settled', 'failed', 'unmatched'].includes(p.status))
    )
      break;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const rows = payouts.map((p) => {
    const nets = p.candidates.map((c) => cents(c.net));
    const worst = nets.length ? nets.reduce((a, b) => (b < a ? b : a)) : 0n;
    const net = p.net ? cents(p.net) : 0n;
    return {
      platform: p.platform,
      gross: p.gross,
      status: p.status,
      route: p.route?.routeId ?? '-',
      fees: p.route?.fees.total ?? '-',
      net: p.net ?? '-',
      saved: p.net && nets.length > 1 ? dollars(net - worst) : '0.00',
    };
  });
  console.table(rows);

  const invoices: Record<string, unknown>[] = [];
  for (const id of freelancers.values()) {
    const page = await api<{ data: Record<string, unknown>[] }>(
      'GET',
      `/v1/invoices?freelancerId=${id}`,
      key,
    );
    for (const inv of page.data) {
      invoices.push({
        number: inv.number,
        exporter: (inv.exporter as { name: string }).name,
        gross: inv.gross,
        purposeCode: inv.purposeCode,
        exportStatus: inv.exportStatus,
        pkrEquivalent: inv.pkrEquivalent,
      });
    }
  }
  console.table(invoices);
  const trial = await api<{ currencies: unknown[] }>('GET', '/v1/ops/ledger/trial-balance', OPS);
  process.stdout.write('Trial balance (debits equal credits):\n');
  console.table(trial.currencies);

  // Each provider's books against ours for the demo's minutes: every transfer matched, nothing missing.
  const window = `from=${started.toISOString()}&to=${new Date(Date.now() + 1000).toISOString()}`;
  const providers = [...new Set(payouts.flatMap((p) => (p.route ? [p.route.provider] : [])))];
  const reconciled = [];
  for (const provider of providers.sort()) {
    const report = await api<{
      statement: { transfers: number; settled: string };
      matched: number;
      discrepancies: unknown[];
    }>('GET', `/v1/ops/reconciliation/providers/${provider}?${window}`, OPS);
    reconciled.push({
      provider,
      transfers: report.statement.transfers,
      settled: report.statement.settled,
      matched: report.matched,
      discrepancies: report.discrepancies.length,
    });
  }
  process.stdout.write('Reconciliation with each provider used (its statement against our attempts):\n');
  console.table(reconciled);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
