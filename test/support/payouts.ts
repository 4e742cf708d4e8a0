import { bearer, TestApp, waitFor } from './app';

/** A payout as GET /v1/payouts/{id} answers it (CONTRACT.md §3), with what the specs read of it. */
export interface Payout {
  id: string;
  status: string;
  route: { routeId: string } | null;
  attempts: { routeId: string; status: string; error?: string }[];
  fees: Record<string, string> | null;
  net: string | null;
  invoiceId: string | null;
  timeline: { status: string; at: string }[];
  candidates: { routeId: string }[];
  rejected: { routeId: string; reason: string }[];
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
