import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { bearer, TestApp, unique, waitFor } from './app';

/** Signing helpers built on the platforms' official clients, so our verifiers are checked against theirs. */

const stripe = new Stripe('sk_test_signing_only');

export interface Connection {
  id: string;
  platform: string;
  scheme: 'standard-webhooks' | 'stripe';
  webhookUrl: string;
  signingSecret: string;
}

/** Standard Webhooks headers for `body` (the exact string that will be sent). */
export function signStandard(
  secret: string,
  id: string,
  body: string,
  date: Date = new Date(),
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(date.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, date, body),
  };
}

/** Stripe-Signature header for `payload` (the exact string that will be sent); timestamp in unix seconds. */
export function signStripe(
  secret: string,
  payload: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }),
  };
}

export async function createConnection(
  http: TestApp['http'],
  apiKey: string,
  platform = 'upwork',
  scheme?: string,
): Promise<Connection> {
  const res = await http
    .post('/v1/platform-connections')
    .set(bearer(apiKey))
    .send(scheme ? { platform, scheme } : { platform })
    .expect(201);
  return res.body;
}

export interface StandardPayoutData {
  payoutId: string;
  freelancerRef: string;
  amount: unknown;
  currency: unknown;
  client: unknown;
  description: unknown;
  serviceCategory: unknown;
}

/** A `payout.available` event (CONTRACT.md §4) with a unique payout id unless one is given. */
export function payoutEvent(
  data: Partial<StandardPayoutData> & Record<string, unknown> = {},
  envelope: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 'payout.available',
    timestamp: new Date().toISOString(),
    data: {
      payoutId: unique('PO'),
      freelancerRef: 'fl-42',
      amount: '1250.00',
      currency: 'USD',
      client: { name: 'Acme Inc', country: 'US' },
      description: 'Web development, milestone 3',
      serviceCategory: 'software_development',
      ...data,
    },
    ...envelope,
  };
}

/** A Stripe `transfer.created` event with unique event and transfer ids unless given. */
export function stripeEvent(
  object: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
  envelope: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id: `evt_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    type: 'transfer.created',
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id: `tr_${randomUUID().replace(/-/g, '')}`,
        object: 'transfer',
        amount: 125000,
        currency: 'usd',
        description: 'Design work, November',
        metadata: {
          freelancer_ref: 'fl-42',
          client_name: 'Acme Inc',
          client_country: 'US',
          service_category: 'graphic_design',
          ...metadata,
        },
        ...object,
      },
    },
    ...envelope,
  };
}

/** Posts a payload to a connection signed the way its scheme signs; answers the supertest response. */
export function deliver(
  http: TestApp['http'],
  connection: Connection,
  payload: unknown,
  options: { id?: string; date?: Date; secret?: string } = {},
) {
  const body = JSON.stringify(payload);
  const secret = options.secret ?? connection.signingSecret;
  const date = options.date ?? new Date();
  const headers =
    connection.scheme === 'stripe'
      ? signStripe(secret, body, Math.floor(date.getTime() / 1000))
      : signStandard(secret, options.id ?? `msg_${randomUUID()}`, body, date);
  return http.post(connection.webhookUrl).set(headers).send(body);
}

/**
 * Posts a signed `payout.available` event for `freelancerRef` on a standard-webhooks connection, expects 202,
 * and answers the id of the payout it created (waiting for the row).
 */
export async function announcePayout(
  t: Pick<TestApp, 'http' | 'db'>,
  connection: Connection,
  freelancerRef: string,
  amount: string,
): Promise<string> {
  const event = payoutEvent({ freelancerRef, amount });
  const body = JSON.stringify(event);
  await t.http
    .post(`/v1/webhooks/${connection.id}`)
    .set(signStandard(connection.signingSecret, unique('msg'), body))
    .send(body)
    .expect(202);
  const platformPayoutId = (event.data as { payoutId: string }).payoutId;
  const [row] = await waitFor(
    async () => {
      const rows = await t.db.query(`SELECT id FROM payouts WHERE platform_payout_id = $1`, [
        platformPayoutId,
      ]);
      return rows.length ? rows : null;
    },
    { what: 'the payout row' },
  );
  return row.id;
}
