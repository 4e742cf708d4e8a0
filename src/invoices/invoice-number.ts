/** Largest sequence a year can hold in the six-digit number the contract shows. */
export const MAX_INVOICE_SEQ = 999_999;

/** `INV-2026-000001`: the exporter's year and its gapless sequence within that year. */
export function formatInvoiceNumber(year: number, seq: number): string {
  if (!Number.isInteger(year) || year < 2000 || year > 9999)
    throw new RangeError(`invoice year ${year} is out of range`);
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_INVOICE_SEQ) {
    throw new RangeError(`invoice sequence ${seq} is out of range`);
  }
  return `INV-${year}-${String(seq).padStart(6, '0')}`;
}

const NUMBER_PATTERN = /^INV-(\d{4})-(\d{6})$/;

export function parseInvoiceNumber(number: string): { year: number; seq: number } | null {
  const match = NUMBER_PATTERN.exec(number);
  if (!match || match[2] === '000000') return null;
  return { year: Number(match[1]), seq: Number(match[2]) };
}
