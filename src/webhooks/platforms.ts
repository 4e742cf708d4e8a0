import { randomBytes } from 'node:crypto';
import { SignatureScheme } from './signatures/signature-schemes';

/** The platforms of the route catalog, plus Stripe. */
export const PLATFORMS = ['upwork', 'fiverr', 'payoneer', 'toptal', 'deel', 'guru', 'stripe'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Stripe signs the Stripe way; every other platform uses Standard Webhooks unless told otherwise. */
export function defaultScheme(platform: Platform): SignatureScheme {
  return platform === 'stripe' ? 'stripe' : 'standard-webhooks';
}

/** `whsec_` + base64 of 32 random bytes, for both schemes (Stripe keys with the string, Standard with the bytes). */
export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function webhookUrl(connectionId: string): string {
  return `/v1/webhooks/${connectionId}`;
}
