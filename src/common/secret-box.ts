import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;

export class SecretBoxError extends Error {}

/**
 * Encrypts a secret for storage with AES-256-GCM: version byte, random IV, auth tag, ciphertext.
 * `context` (for example the owning row's id) is bound as associated data, so a ciphertext copied onto
 * another row no longer opens.
 */
export function sealSecret(key: Buffer, plaintext: string, context: string): Buffer {
  requireKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
}

/** Decrypts what sealSecret produced with the same key and context; anything else throws. */
export function openSecret(key: Buffer, sealed: Buffer, context: string): string {
  requireKey(key);
  if (sealed.length < HEADER_BYTES || sealed[0] !== VERSION) {
    throw new SecretBoxError('The stored secret is not in a format this service wrote.');
  }
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, HEADER_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretBoxError('The stored secret does not open with this key (wrong key or altered data).');
  }
}

function requireKey(key: Buffer): void {
  if (key.length !== 32) throw new SecretBoxError('The secrets key must be 32 bytes.');
}
