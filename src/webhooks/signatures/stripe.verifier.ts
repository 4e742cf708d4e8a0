import { createHmac } from 'node:crypto';
import {
  invalid,
  matchesAny,
  SignatureVerifier,
  SignedRequest,
  singleHeader,
  timestampProblem,
  Verification,
} from './signature-verifier';

/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 over `{t}.{body}` keyed with the whole
 * secret string as it is (not decoded), hex-encoded.
 */
export class StripeVerifier implements SignatureVerifier {
  readonly scheme = 'stripe';

  verify(request: SignedRequest, secret: string, nowSeconds: number): Verification {
    const header = singleHeader(request.headers, 'stripe-signature');
    if (header === undefined) return invalid('the Stripe-Signature header is missing');

    const timestamps: string[] = [];
    const candidates: string[] = [];
    for (const item of header.split(',')) {
      const at = item.indexOf('=');
      if (at < 0) continue;
      const key = item.slice(0, at).trim();
      const value = item.slice(at + 1).trim();
      if (key === 't') timestamps.push(value);
      if (key === 'v1') candidates.push(value);
    }
    if (timestamps.length !== 1) return invalid('the Stripe-Signature header needs exactly one t=');
    const stale = timestampProblem(timestamps[0], nowSeconds);
    if (stale) return invalid(stale);
    if (candidates.length === 0) return invalid('the Stripe-Signature header has no v1 signature');

    const expected = stripeSignature(secret, Number(timestamps[0]), request.rawBody);
    if (!matchesAny(expected, candidates)) return invalid('no v1 signature matches the body');
    return { valid: true, signedAt: Number(timestamps[0]), messageId: null };
  }

  bodyEventId(payload: unknown): string | null {
    return stripeEventId(payload);
  }
}

/** A Stripe event's `id`: 1 to 255 printable ASCII characters, else null. */
export function stripeEventId(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const id = (payload as { id?: unknown }).id;
  return typeof id === 'string' && /^[\x21-\x7e]{1,255}$/.test(id) ? id : null;
}

/** The hex HMAC of one payload; exported for the verifier's tests. */
export function stripeSignature(secret: string, timestamp: number, body: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}
