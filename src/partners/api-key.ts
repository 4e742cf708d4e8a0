import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { headerLines } from '../common/http-edge';

/** `pk_` + 32 random bytes, base64url: 256 bits, so a plain SHA-256 is a safe stored form. */
export function generateApiKey(): string {
  return `pk_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** A short, non-secret hint for logs and ops screens. */
export function apiKeyHint(key: string): string {
  return `${key.slice(0, 7)}…${key.slice(-4)}`;
}

export const API_KEY_PATTERN = /^pk_[A-Za-z0-9_-]{43}$/;

/** Constant-time equality of two strings of any length (compares digests, so lengths leak nothing). */
export function constantTimeEquals(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/**
 * Whether the request holds more than one Authorization line. Node keeps the first and drops the others, while a
 * proxy in front may have read another: such a request is refused rather than authenticated by a guess.
 */
export function authorizationSentTwice(rawHeaders: string[]): boolean {
  return headerLines(rawHeaders, 'authorization') > 1;
}

/** The token of `Authorization: Bearer <token>`; the scheme name is case-insensitive (RFC 9110 §11.1). */
export function bearerToken(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer +(\S+)$/i.exec(header.trim());
  return match ? match[1] : null;
}
