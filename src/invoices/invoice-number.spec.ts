import { formatInvoiceNumber, parseInvoiceNumber } from './invoice-number';

describe(formatInvoiceNumber.name, () => {
  it('pads the sequence to six digits under the year', () => {
    expect(formatInvoiceNumber(2026, 1)).toBe('INV-2026-000001');
    expect(formatInvoiceNumber(2026, 42)).toBe('INV-2026-000042');
    expect(formatInvoiceNumber(2027, 999_999)).toBe('INV-2027-999999');
  });

  it.each([
    [2026, 0],
    [2026, 1_000_000],
    [2026, 1.5],
    [1999, 1],
    [10_000, 1],
  ])('refuses year %p and sequence %p', (year, seq) => {
    expect(() => formatInvoiceNumber(year, seq)).toThrow(RangeError);
  });

  it('round-trips through parseInvoiceNumber', () => {
    expect(parseInvoiceNumber(formatInvoiceNumber(2026, 7))).toEqual({ year: 2026, seq: 7 });
    expect(parseInvoiceNumber('INV-2026-000000')).toBeNull();
    expect(parseInvoiceNumber('INV-2026-1')).toBeNull();
  });
});
