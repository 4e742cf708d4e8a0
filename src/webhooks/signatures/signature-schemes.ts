import { SignatureVerifier } from './signature-verifier';
import { StandardWebhooksVerifier } from './standard-webhooks.verifier';
import { StripeVerifier } from './stripe.verifier';

export const SIGNATURE_SCHEMES = ['standard-webhooks', 'stripe'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

/** Every scheme a connection may use, by name (the platform_connections.scheme CHECK lists the same). */
export const VERIFIERS: Record<SignatureScheme, SignatureVerifier> = {
  'standard-webhooks': new StandardWebhooksVerifier(),
  stripe: new StripeVerifier(),
};
