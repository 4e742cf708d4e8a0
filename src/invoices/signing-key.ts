import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface SigningKeySource {
  /** A PKCS#8 PEM given directly (environment); wins over the file. */
  pem: string | undefined;
  file: string;
  /** Development and tests: create the file when it is missing. Production: never. */
  mayCreate: boolean;
}

export interface SigningKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  /** The file this key was created in during this call, when it was. */
  createdFile: string | null;
}

export class SigningKeyError extends Error {}

/**
 * Loads the Ed25519 invoice signing key. A missing file is created once (development and tests) so that
 * restarts keep verifying the invoices already issued; in production a missing key stops the start.
 */
export function loadSigningKey(source: SigningKeySource): SigningKey {
  if (source.pem) return toSigningKey(parsePrivateKey(source.pem, 'INVOICE_SIGNING_KEY_PEM'), null);
  const path = resolve(source.file);
  const existing = readIfPresent(path);
  if (existing !== null) return toSigningKey(parsePrivateKey(existing, path), null);
  if (!source.mayCreate) {
    throw new SigningKeyError(
      `No invoice signing key: set INVOICE_SIGNING_KEY_PEM or put an Ed25519 PKCS#8 PEM at ${path}.`,
    );
  }
  const created = createKeyFile(path);
  return toSigningKey(parsePrivateKey(readFileSync(path, 'utf8'), path), created ? path : null);
}

function toSigningKey(privateKey: KeyObject, createdFile: string | null): SigningKey {
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, publicKeyPem, createdFile };
}

function parsePrivateKey(pem: string, where: string): KeyObject {
  // Environment variables often carry a PEM with its newlines escaped.
  const text = pem.includes('\n') ? pem : pem.replace(/\\n/g, '\n');
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch {
    throw new SigningKeyError(`The invoice signing key in ${where} is not a readable private key PEM.`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SigningKeyError(
      `The invoice signing key in ${where} is ${key.asymmetricKeyType ?? 'unknown'}; it must be Ed25519.`,
    );
  }
  return key;
}

function readIfPresent(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Writes a fresh key beside the target and hard-links it into place: the link either appears whole or fails
 * because another process won the race, whose key is then the one used. Answers whether this call created it.
 */
function createKeyFile(path: string): boolean {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temporary, pem, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}
