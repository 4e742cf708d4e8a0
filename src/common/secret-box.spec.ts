import { createCipheriv, randomBytes } from 'node:crypto';
import { openSecret, sealSecret, SecretBoxError, SecretKeys } from './secret-box';

/** A value in the first format (no key id), as the service wrote it before keys could be rotated. */
function sealedUnnamed(key: Buffer, plaintext: string, context: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), ciphertext]);
}

describe('secret box', () => {
  const key = randomBytes(32);
  const keys = new SecretKeys(key);
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  it('opens what it sealed, and never stores the secret in clear', () => {
    const sealed = sealSecret(keys, secret, 'row-1');
    expect(sealed.toString('utf8')).not.toContain(secret);
    expect(sealed.toString('base64')).not.toContain(secret.slice(6));
    expect(openSecret(keys, sealed, 'row-1')).toBe(secret);
  });

  it('uses a fresh IV each time', () => {
    expect(sealSecret(keys, secret, 'row-1').equals(sealSecret(keys, secret, 'row-1'))).toBe(false);
  });

  it('refuses another key, another row and any altered byte', () => {
    const sealed = sealSecret(keys, secret, 'row-1');
    expect(() => openSecret(new SecretKeys(randomBytes(32)), sealed, 'row-1')).toThrow(SecretBoxError);
    expect(() => openSecret(keys, sealed, 'row-2')).toThrow(SecretBoxError);
    for (const index of [0, 3, 5, 20, sealed.length - 1]) {
      const altered = Buffer.from(sealed);
      altered[index] ^= 0x01;
      expect(() => openSecret(keys, altered, 'row-1')).toThrow(SecretBoxError);
    }
    expect(() => openSecret(keys, sealed.subarray(0, 10), 'row-1')).toThrow(SecretBoxError);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new SecretKeys(randomBytes(16))).toThrow(SecretBoxError);
    expect(() => new SecretKeys(key, [randomBytes(31)])).toThrow(SecretBoxError);
  });

  describe('with a rotated key', () => {
    const next = randomBytes(32);
    const rotated = new SecretKeys(next, [key]);

    it('seals with the current key, naming it, and opens what an earlier key sealed', () => {
      const before = sealSecret(keys, secret, 'row-1');
      const after = sealSecret(rotated, secret, 'row-1');
      expect(openSecret(rotated, before, 'row-1')).toBe(secret);
      expect(openSecret(rotated, after, 'row-1')).toBe(secret);
      expect(after.subarray(0, 5).equals(rotated.currentPrefix)).toBe(true);
      expect(before.subarray(0, 5).equals(rotated.currentPrefix)).toBe(false);
      // The old key alone cannot open what the new one sealed: it is named, and not given.
      expect(() => openSecret(keys, after, 'row-1')).toThrow(/not given/);
      expect(() => openSecret(new SecretKeys(next), before, 'row-1')).toThrow(/not given/);
    });

    it('opens a value of the first format (no key named) with whichever key sealed it', () => {
      expect(openSecret(rotated, sealedUnnamed(key, secret, 'row-1'), 'row-1')).toBe(secret);
      expect(openSecret(rotated, sealedUnnamed(next, secret, 'row-1'), 'row-1')).toBe(secret);
      expect(() => openSecret(new SecretKeys(next), sealedUnnamed(key, secret, 'row-1'), 'row-1')).toThrow(
        SecretBoxError,
      );
      expect(() => openSecret(rotated, sealedUnnamed(key, secret, 'row-1'), 'row-2')).toThrow(SecretBoxError);
    });

    it('names a key the same way in every process, and another key otherwise', () => {
      expect(new SecretKeys(Buffer.from(next)).currentId.equals(rotated.currentId)).toBe(true);
      expect(keys.currentId.equals(rotated.currentId)).toBe(false);
    });
  });
});
