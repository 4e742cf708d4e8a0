import { randomBytes } from 'node:crypto';
import { standardWebhooksSignature } from '../webhooks/signatures/standard-webhooks.verifier';

export const SECRET_PREFIX = 'whsec_';

/** A fresh endpoint secret: whsec_ + base64 of 32 random bytes. */
export function generateEndpointSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

export interface StandardWebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Standard Webhooks headers for one message, with one `v1` signature per secret (several while a rotated secret
 * still works: a receiver accepts the message when any of them verifies). The HMAC is the same function our
 * intake verifier checks platforms with, so signing and verifying cannot drift apart.
 */
export function signWebhook(
  secrets: readonly string[],
  messageId: string,
  timestampSeconds: number,
  body: string,
): StandardWebhookHeaders {
  const bytes = Buffer.from(body, 'utf8');
  const signatures = secrets.map(
    (secret) => `v1,${standardWebhooksSignature(secret, messageId, timestampSeconds, bytes)}`,
  );
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
}
