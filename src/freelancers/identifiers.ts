/** Pakistani IBAN: `PK`, two check digits, four-letter bank code, sixteen digits; 24 characters; ISO 13616 mod-97. */
export function normalizeIban(raw: string): string {
  return raw.replace(/\s+/g, '').toUpperCase();
}

export function ibanProblem(raw: string): string | null {
  const iban = normalizeIban(raw);
  if (iban.length !== 24) return 'must be 24 characters (a Pakistani IBAN)';
  if (!iban.startsWith('PK')) return 'must be a Pakistani IBAN starting with PK';
  if (!/^PK\d{2}[A-Z]{4}[A-Z0-9]{16}$/.test(iban)) {
    return 'must be PK, two check digits, a four-letter bank code and sixteen account characters';
  }
  // 98 − (n mod 97) is always 02..98: 00, 01 and 99 pass a bare mod-97 test as aliases of 97, 98 and 02 (the same
  // account spelled twice, past the one-IBAN-per-freelancer rule), but no bank issues them.
  const check = Number(iban.slice(2, 4));
  if (check < 2 || check > 98) return 'has wrong check digits (ISO 13616: 02 to 98)';
  return mod97(iban) === 1 ? null : 'has wrong check digits (ISO 13616 mod-97)';
}

function mod97(iban: string): number {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const digits = /[A-Z]/.test(char) ? String(char.charCodeAt(0) - 55) : char;
    for (const digit of digits) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder;
}

export const CNIC_PATTERN = /^\d{5}-\d{7}-\d$/;
export const NTN_PATTERN = /^\d{7}-\d$/;

/** Shows only the bank code and the last four characters: full IBANs never reach a log. */
export function maskIban(iban: string): string {
  return `${iban.slice(0, 8)}…${iban.slice(-4)}`;
}
