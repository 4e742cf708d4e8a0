import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** The first format: version byte, IV, tag, ciphertext; it does not say which key sealed it. */
const UNNAMED_KEY = 1;
/** The format written now: version byte, the sealing key's id, IV, tag, ciphertext. */
const NAMED_KEY = 2;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {}

/**
 * The keys stored secrets are sealed with: `current` seals, and every key (current first, then those kept only
 * to open what they sealed earlier) opens. Rotating SECRETS_KEY keeps the old key among the others until the
 * worker has sealed every stored secret again with the new one (secret-resealer.service.ts).
 */
export class SecretKeys {
  readonly current: Buffer;
  readonly currentId: Buffer;
  private readonly byId = new Map<string, Buffer>();
  private readonly all: Buffer[];

  constructor(current: Buffer, openOnly: readonly Buffer[] = []) {
    for (const key of [current, ...openOnly]) requireKey(key);
    this.current = current;
    this.currentId = keyId(current);
    this.all = [current, ...openOnly.filter((key) => !key.equals(current))];
    for (const key of this.all) this.byId.set(keyId(key).toString('hex'), key);
    if (this.byId.size !== this.all.length) {
      throw new SecretBoxError('Two different secrets keys share a key id: generate another key.');
    }
  }

  /** Whether earlier keys are given beside the current one: a rotation of SECRETS_KEY is under way. */
  get rotating(): boolean {
    return this.all.length > 1;
  }

  /** The first bytes of a value `current` sealed: a value that does not start so needs sealing again. */
  get currentPrefix(): Buffer {
    return Buffer.concat([Buffer.from([NAMED_KEY]), this.currentId]);
  }

  /** The keys that may have sealed `sealed`, the likeliest first. */
  candidates(sealed: Buffer): Buffer[] {
    if (sealed[0] === UNNAMED_KEY) return this.all;
    const key = this.byId.get(sealed.subarray(1, 1 + KEY_ID_BYTES).toString('hex'));
    return key ? [key] : [];
  }
}

/** A name for a key that reveals nothing of it: four bytes of a hash of it, under a label of its own. */
function keyId(key: Buffer): Buffer {
  return createHash('sha256')
    .update('payout-router secrets key id\0')
    .update(key)
    .digest()
    .subarray(0, KEY_ID_BYTES);
}

/**
 * Encrypts a secret for storage with AES-256-GCM under the current key, naming the key.
 * `context` (for example the owning row's id) is bound as associated data, so a ciphertext copied onto
 * another row no longer opens.
 */
export function sealSecret(keys: SecretKeys, plaintext: string, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.current, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([keys.currentPrefix, iv, cipher.getAuthTag(), ciphertext]);
}

/** Decrypts what sealSecret produced (in either format) with one of the keys and the same context; anything else throws. */
export function openSecret(keys: SecretKeys, sealed: Buffer, context: string): string {
  const idBytes = sealed[0] === NAMED_KEY ? KEY_ID_BYTES : 0;
  const header = 1 + idBytes + IV_BYTES + TAG_BYTES;
  if (sealed.length < header || (sealed[0] !== UNNAMED_KEY && sealed[0] !== NAMED_KEY)) {
    throw new SecretBoxError('The stored secret is not in a format this service wrote.');
  }
  const candidates = keys.candidates(sealed);
  if (!candidates.length) {
    throw new SecretBoxError('The stored secret was sealed with a key this service is not given.');
  }
  const iv = sealed.subarray(1 + idBytes, 1 + idBytes + IV_BYTES);
  const tag = sealed.subarray(1 + idBytes + IV_BYTES, header);
  for (const key of candidates) {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(header)), decipher.final()]).toString('utf8');
    } catch {
      // not this key (or altered data): the next one, if any
    }
  }
  throw new SecretBoxError(
    'The stored secret does not open with the keys given (wrong key or altered data).',
  );
}

function requireKey(key: Buffer): void {
  if (key.length !== 32) throw new SecretBoxError('The secrets key must be 32 bytes.');
}
