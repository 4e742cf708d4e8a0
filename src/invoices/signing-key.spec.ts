import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSigningKey, SigningKeyError } from './signing-key';

describe(loadSigningKey.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'invoice-key-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a key file once in development and reads the same key afterwards', () => {
    const file = join(dir, 'nested', 'key.pem');
    const first = loadSigningKey({ pem: undefined, file, mayCreate: true });
    expect(first.createdFile).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadSigningKey({ pem: undefined, file, mayCreate: true });
    expect(second.createdFile).toBeNull();
    expect(second.publicKeyPem).toBe(first.publicKeyPem);
    const signature = sign(null, Buffer.from('abc'), second.privateKey);
    expect(verify(null, Buffer.from('abc'), createPublicKey(first.publicKeyPem), signature)).toBe(true);
  });

  it('refuses to create a key in production', () => {
    expect(() => loadSigningKey({ pem: undefined, file: join(dir, 'key.pem'), mayCreate: false })).toThrow(
      SigningKeyError,
    );
  });

  it('prefers the PEM from configuration, with escaped newlines too', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const expected = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(loadSigningKey({ pem, file: join(dir, 'unused.pem'), mayCreate: false }).publicKeyPem).toBe(
      expected,
    );
    const escaped = pem.replace(/\n/g, '\\n');
    expect(
      loadSigningKey({ pem: escaped, file: join(dir, 'unused.pem'), mayCreate: false }).publicKeyPem,
    ).toBe(expected);
  });

  it('refuses a key that is not Ed25519, or not a key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const file = join(dir, 'ec.pem');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadSigningKey({ pem: undefined, file, mayCreate: true })).toThrow(/must be Ed25519/);
    expect(() => loadSigningKey({ pem: 'not a pem', file, mayCreate: true })).toThrow(SigningKeyError);
    expect(readFileSync(file, 'utf8')).toContain('PRIVATE KEY');
  });
});
