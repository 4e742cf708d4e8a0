import { CNIC_PATTERN, ibanProblem, maskIban, normalizeIban } from './identifiers';

describe('identifiers', () => {
  describe(ibanProblem.name, () => {
    it.each([
      'PK36SCBL0000001123456702',
      'pk36 scbl 0000 0011 2345 6702',
      'PK98SCBL0000000000000034',
      'PK97SCBL0000000000000052',
      'PK02SCBL0000000000000016',
    ])('accepts the valid IBAN %p', (iban) => {
      expect(ibanProblem(iban)).toBeNull();
    });

    it.each([
      ['PK37SCBL0000001123456702', /check digits/],
      ['PK35SCBL0000001123456702', /check digits/],
      ['PK36SCBL0000001123456703', /check digits/],
      ['PK36SCBL000000112345670', /24 characters/],
      ['GB82WEST12345698765432XX', /starting with PK/],
      ['PK36SCB10000001123456702', /bank code/],
      // Pass a bare mod-97 test as aliases of PK98…, PK97… and PK02…, but no IBAN has them.
      ['PK01SCBL0000000000000034', /02 to 98/],
      ['PK00SCBL0000000000000052', /02 to 98/],
      ['PK99SCBL0000000000000016', /02 to 98/],
    ])('refuses %p', (iban, reason) => {
      expect(ibanProblem(iban)).toMatch(reason);
    });
  });

  it('normalizes spacing and case', () => {
    expect(normalizeIban(' pk36 scbl0000001123456702 ')).toBe('PK36SCBL0000001123456702');
  });

  it('masks the account part', () => {
    expect(maskIban('PK36SCBL0000001123456702')).toBe('PK36SCBL…6702');
  });

  it.each([
    ['35202-1234567-1', true],
    ['3520212345671', false],
    ['35202-1234567-12', false],
    ['3520-1234567-1', false],
  ])('CNIC %p valid: %p', (cnic, ok) => {
    expect(CNIC_PATTERN.test(cnic)).toBe(ok);
  });
});
