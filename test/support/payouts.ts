import { bearer, ops, TestApp, waitFor } from './app';

/** A payout as GET /v1/payouts/{id} answers it (CONTRACT.md §3), with what the specs read of it. */
export interface Payout {
  id: string;
  status: string;
  route: { routeId: string } | null;
  attempts: { routeId: string; status: string; error?: string }[];
  fees: Record<string, string> | null;
  net: string | null;
  failureReason: string | null;
  invoiceId: string | null;
  timeline: { status: string; at: string }[];
  candidates: { routeId: string }[];
  rejected: { routeId: string; reason: string }[];
  standby: { routeId: string; net: string }[];
  earlierDecisions: {
    decidedAt: string;
    replacedAt: string;
    accountId: string | null;
    accountKind: string;
    chosen: string | null;
    candidates: { routeId: string }[];
    rejected: { routeId: string; reason: string }[];
    standby: { routeId: string }[];
  }[];
}

/** Waits, with a timeout, for the partner's payout to reach one of the statuses, and answers it as it then is. */
export function payoutWhen(
  t: Pick<TestApp, 'http'>,
  apiKey: string,
  id: string,
  statuses: string[],
  timeoutMs = 30_000,
): Promise<Payout> {
  return waitFor(
    async () => {
      const res = await t.http.get(`/v1/payouts/${id}`).set(bearer(apiKey)).expect(200);
      return statuses.includes(res.body.status) ? (res.body as Payout) : null;
    },
    { what: `payout ${id} to reach ${statuses.join('|')}`, timeoutMs },
  );
}

/** The providers the sandbox actually moved the payout's money through, one row per transfer. */
export function transferProviders(
  t: Pick<TestApp, 'db'>,
  payoutId: string,
): Promise<{ provider_id: string }[]> {
  return t.db.query(`SELECT provider_id FROM sandbox_transfers WHERE payout_id = $1 ORDER BY created_at`, [
    payoutId,
  ]);
}

/** Waits, with a timeout, until a send of the payout is under way (one of its attempts marked as sent). */
export function sendUnderWay(t: Pick<TestApp, 'db'>, payoutId: string): Promise<true> {
  return waitFor(
    async () => {
      const [row] = await t.db.query(
        `SELECT count(*)::int AS n FROM payout_attempts WHERE payout_id = $1 AND last_send_at IS NOT NULL`,
        [payoutId],
      );
      return row.n > 0 ? true : null;
    },
    { what: `a send of payout ${payoutId} under way` },
  );
}

/** How often a payout step was put off for `reason`, as `payout_waits_total` in /metrics counts it. */
export async function payoutWaits(
  t: Pick<TestApp, 'http'>,
  step: 'route' | 'send',
  reason: string,
): Promise<number> {
  const metrics = await t.http.get('/metrics').expect(200);
  const line = new RegExp(`^payout_waits_total\\{step="${step}",reason="${reason}"\\} (\\d+)`, 'm');
  return Number(metrics.text.match(line)?.[1] ?? 0);
}

/** Sets how a provider's sandbox connector behaves from now on (PUT /v1/ops/sandbox/providers/{id}). */
/** Every sandbox provider back to its defaults (the app's SANDBOX_SETTLE_AFTER_MS, no failures), for the tests after. */
export async function resetSandbox(http: TestApp['http']): Promise<void> {
  for (const provider of ['upwork', 'payoneer', 'correspondent', 'wise', 'zindigi', 'sadapay']) {
    await http.delete(`/v1/ops/sandbox/providers/${provider}`).set(ops).expect(200);
  }
}

export async function setSandbox(
  http: TestApp['http'],
  provider: string,
  settings: Record<string, number>,
): Promise<void> {
  await http.put(`/v1/ops/sandbox/providers/${provider}`).set(ops).send(settings).expect(200);
}
