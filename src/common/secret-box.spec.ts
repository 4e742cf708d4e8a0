import { randomBytes } from 'node:crypto';
import { openSecret, sealSecret, SecretBoxError } from './secret-box';

describe('secret box', () => {
  const key = randomBytes(32);
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  it('opens what it sealed, and never stores the secret in clear', () => {
    const sealed = sealSecret(key, secret, 'row-1');
    expect(sealed.toString('utf8')).not.toContain(secret);
    expect(sealed.toString('base64')).not.toContain(secret.slice(6));
    expect(openSecret(key, sealed, 'row-1')).toBe(secret);
  });

  it('uses a fresh IV each time', () => {
    expect(sealSecret(key, secret, 'row-1').equals(sealSecret(key, secret, 'row-1'))).toBe(false);
  });

  it('refuses another key, another row and any altered byte', () => {
    const sealed = sealSecret(key, secret, 'row-1');
    expect(() => openSecret(randomBytes(32), sealed, 'row-1')).toThrow(SecretBoxError);
    expect(() => openSecret(key, sealed, 'row-2')).toThrow(SecretBoxError);
    for (const index of [0, 5, 20, sealed.length - 1]) {
      const altered = Buffer.from(sealed);
      altered[index] ^= 0x01;
      expect(() => openSecret(key, altered, 'row-1')).toThrow(SecretBoxError);
    }
    expect(() => openSecret(key, sealed.subarray(0, 10), 'row-1')).toThrow(SecretBoxError);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => sealSecret(randomBytes(16), secret, 'row-1')).toThrow(SecretBoxError);
  });
});
