import { timingSafeEqual } from 'node:crypto';

/** Both schemes refuse a signature whose timestamp is further than this from now, either way. */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;

export type RequestHeaders = Record<string, string | string[] | undefined>;

/** What a verifier sees: the exact bytes received and the headers (names lower-case, as Node gives them). */
export interface SignedRequest {
  rawBody: Buffer;
  headers: RequestHeaders;
}

export type Verification =
  { valid: true; signedAt: number; messageId: string | null } | { valid: false; reason: string };

/**
 * One signature scheme. Implementations are pure and synchronous; a new scheme (for example Wise's RSA
 * X-Signature-SHA256) is one new file registered in signature-schemes.ts.
 */
export interface SignatureVerifier {
  readonly scheme: string;
  verify(request: SignedRequest, secret: string, nowSeconds: number): Verification;
  /** The event id a scheme carries in the parsed body (Stripe's event `id`); null when its id is a header. */
  bodyEventId(payload: unknown): string | null;
}

export const invalid = (reason: string): Verification => ({ valid: false, reason });

/** A header that must appear once; a repeated header is as good as a missing one. */
export function singleHeader(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Parses unix seconds; answers the reason it cannot be trusted, or null. */
export function timestampProblem(text: string | undefined, nowSeconds: number): string | null {
  if (text === undefined || !/^\d{1,12}$/.test(text))
    return 'the signature timestamp is missing or malformed';
  const skew = Number(text) - nowSeconds;
  if (skew < -TIMESTAMP_TOLERANCE_SECONDS) return 'the signature timestamp is too old';
  if (skew > TIMESTAMP_TOLERANCE_SECONDS) return 'the signature timestamp is in the future';
  return null;
}

/**
 * True when any candidate equals the expected signature. Each comparison is constant-time; every candidate
 * is compared, so the time taken says nothing about which one matched or how much of it did.
 */
export function matchesAny(expected: string, candidates: string[]): boolean {
  const want = Buffer.from(expected, 'utf8');
  let matched = false;
  for (const candidate of candidates) {
    const given = Buffer.from(candidate, 'utf8');
    if (given.length === want.length && timingSafeEqual(given, want)) matched = true;
  }
  return matched;
}
