import { createHash, KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';

export interface Sealed {
  /** RFC 8785 canonical JSON: the exact bytes the hash covers. */
  canonical: string;
  /** Lower-case hex SHA-256 of the canonical JSON's UTF-8 bytes. */
  sha256: string;
  /** Base64 Ed25519 signature of the UTF-8 bytes of the hex digest (the contract signs the digest text). */
  signature: string;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function signDigest(sha256: string, privateKey: KeyObject): string {
  return sign(null, Buffer.from(sha256, 'utf8'), privateKey).toString('base64');
}

export function verifyDigest(sha256: string, signature: string, publicKey: KeyObject | string): boolean {
  return verify(null, Buffer.from(sha256, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
}

/** Canonicalizes, hashes and signs a document. */
export function seal(document: unknown, privateKey: KeyObject): Sealed {
  const canonical = canonicalJson(document);
  const sha256 = sha256Hex(canonical);
  return { canonical, sha256, signature: signDigest(sha256, privateKey) };
}
