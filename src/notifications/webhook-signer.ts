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
 * Standard Webhooks headers for one message. The HMAC is the same function our intake verifier checks
 * platforms with, so signing and verifying cannot drift apart.
 */
export function signWebhook(
  secret: string,
  messageId: string,
  timestampSeconds: number,
  body: string,
): StandardWebhookHeaders {
  const signature = standardWebhooksSignature(secret, messageId, timestampSeconds, Buffer.from(body, 'utf8'));
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${signature}`,
  };
}
