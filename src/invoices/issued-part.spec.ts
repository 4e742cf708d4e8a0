import { generateKeyPairSync } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';
import { MoneyDecimal } from '../money/money';
import { seal, sha256Hex, verifyDigest } from './invoice-signature';
import { buildIssuedPart, IssueFacts, wellFormed } from './issued-part';

const facts: IssueFacts = {
  id: '0b9a3c4e-2f1d-4a5b-8c6d-7e8f9a0b1c2d',
  number: 'INV-2026-000001',
  issuedAt: new Date('2026-11-21T10:00:00Z'),
  payoutId: '5f0e1d2c-3b4a-4596-8877-665544332211',
  exporter: { name: 'Ayesha Khan', cnic: '35202-1234567-1', ntn: '1234567-8', psebRegistrationNo: null },
  client: { name: 'Acme Inc', country: 'US' },
  description: 'Web development, milestone 3',
  serviceCategory: 'web_development',
  gross: new MoneyDecimal('1250'),
  currency: 'USD',
};

describe(buildIssuedPart.name, () => {
  it('holds exactly the issued fields of the contract, amounts as two-decimal strings', () => {
    expect(buildIssuedPart(facts)).toEqual({
      id: facts.id,
      number: 'INV-2026-000001',
      issuedAt: '2026-11-21T10:00:00.000Z',
      exporter: { name: 'Ayesha Khan', cnic: '35202-1234567-1', ntn: '1234567-8', psebRegistrationNo: null },
      client: { name: 'Acme Inc', country: 'US' },
      lines: [
        {
          description: 'Web development, milestone 3',
          serviceCategory: 'web_development',
          amount: '1250.00',
        },
      ],
      currency: 'USD',
      gross: '1250.00',
      purposeCode: '9186',
      payoutId: facts.payoutId,
    });
  });

  it('canonicalizes to one exact text', () => {
    expect(canonicalJson(buildIssuedPart(facts))).toBe(
      '{"client":{"country":"US","name":"Acme Inc"},"currency":"USD","exporter":{"cnic":"35202-1234567-1",' +
        '"name":"Ayesha Khan","ntn":"1234567-8","psebRegistrationNo":null},"gross":"1250.00",' +
        `"id":"${facts.id}","issuedAt":"2026-11-21T10:00:00.000Z","lines":[{"amount":"1250.00",` +
        '"description":"Web development, milestone 3","serviceCategory":"web_development"}],' +
        `"number":"INV-2026-000001","payoutId":"${facts.payoutId}","purposeCode":"9186"}`,
    );
  });

  it('replaces lone surrogates, which JCS cannot encode, and keeps real pairs', () => {
    expect(wellFormed('a\ud800b\udc00c😀')).toBe('a\ufffdb\ufffdc😀');
    const part = buildIssuedPart({ ...facts, client: { name: 'Bad \ud83d', country: 'GB' } });
    expect(part.client.name).toBe('Bad \ufffd');
  });
});

describe('seal', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');

  it('signs the UTF-8 bytes of the hex digest of the canonical JSON', () => {
    const sealed = seal(buildIssuedPart(facts), privateKey);
    expect(sealed.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sealed.sha256).toBe(sha256Hex(sealed.canonical));
    expect(verifyDigest(sealed.sha256, sealed.signature, publicKey)).toBe(true);
    expect(Buffer.from(sealed.signature, 'base64')).toHaveLength(64);
  });

  it('fails verification when one byte of the canonical JSON changes', () => {
    const sealed = seal(buildIssuedPart(facts), privateKey);
    const tampered = sealed.canonical.replace('"1250.00"', '"1259.00"');
    expect(tampered).not.toBe(sealed.canonical);
    expect(verifyDigest(sha256Hex(tampered), sealed.signature, publicKey)).toBe(false);
  });
});
