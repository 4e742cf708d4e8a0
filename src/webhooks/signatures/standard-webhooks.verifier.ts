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

const SECRET_PREFIX = 'whsec_';
const MESSAGE_ID = /^[\x21-\x7e]{1,255}$/;

/**
 * Standard Webhooks (standardwebhooks.com): HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the
 * base64-decoded secret after `whsec_`; `webhook-signature` lists space-separated `v1,<base64>` entries.
 */
export class StandardWebhooksVerifier implements SignatureVerifier {
  readonly scheme = 'standard-webhooks';

  verify(request: SignedRequest, secret: string, nowSeconds: number): Verification {
    const id = singleHeader(request.headers, 'webhook-id');
    const timestamp = singleHeader(request.headers, 'webhook-timestamp');
    const header = singleHeader(request.headers, 'webhook-signature');
    if (id === undefined || !MESSAGE_ID.test(id))
      return invalid('the webhook-id header is missing or malformed');
    if (header === undefined) return invalid('the webhook-signature header is missing');
    const stale = timestampProblem(timestamp, nowSeconds);
    if (stale) return invalid(stale);

    const candidates = header
      .split(' ')
      .filter((entry) => entry.startsWith('v1,'))
      .map((entry) => entry.slice(3));
    if (candidates.length === 0) return invalid('the webhook-signature header has no v1 signature');

    const expected = standardWebhooksSignature(secret, id, Number(timestamp), request.rawBody);
    if (!matchesAny(expected, candidates)) return invalid('no v1 signature matches the body');
    return { valid: true, signedAt: Number(timestamp), messageId: id };
  }

  /** The id is the signed `webhook-id` header, never the body. */
  bodyEventId(): null {
    return null;
  }
}

/** The base64 HMAC of one message; exported for the verifier's tests. */
export function standardWebhooksSignature(
  secret: string,
  id: string,
  timestamp: number,
  body: Buffer,
): string {
  const key = Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}
