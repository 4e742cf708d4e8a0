import { countryName, fitText, groupThousands, toWinAnsi, utcMinute } from './invoice-text';

describe('invoice-text', () => {
  it.each([
    ['0.00', '0.00'],
    ['999.99', '999.99'],
    ['1250.00', '1,250.00'],
    ['333791.94', '333,791.94'],
    ['1000000.00', '1,000,000.00'],
    ['-1234.50', '-1,234.50'],
    ['12345', '12,345'],
  ])('groups %s as %s', (amount, grouped) => {
    expect(groupThousands(amount)).toBe(grouped);
  });

  it('names countries and keeps unknown codes', () => {
    expect(countryName('US')).toBe('United States (US)');
    expect(countryName('DE')).toBe('Germany (DE)');
    expect(countryName('XX')).toBe('XX');
  });

  it('shows a timestamp to the minute in UTC', () => {
    expect(utcMinute('2026-11-21T10:05:59.999Z')).toBe('2026-11-21 10:05 UTC');
  });

  it('keeps Windows-1252 text, strips accents it cannot show, and marks the rest', () => {
    expect(toWinAnsi('Zoë Müller — “Café” €5')).toBe('Zoë Müller — “Café” €5');
    expect(toWinAnsi('Ștefan Dvořák')).toBe('Stefan Dvorák');
    expect(toWinAnsi('Ω 😀 عائشہ')).toBe('? ? ?????');
  });

  it('fits text to any font: what it draws stays, an accent it lacks goes, the rest is marked', () => {
    const latinAndGreek = (char: string) => /[\p{Script=Latin}\p{Script=Greek} ]/u.test(char);
    expect(fitText('Ștefan Ωmega', latinAndGreek)).toBe('Ștefan Ωmega');
    expect(fitText('Ștefan Дима', (char) => /[A-Za-z ]/.test(char))).toBe('Stefan ????');
    expect(toWinAnsi('Mu\u0308ller')).toBe('Müller');
    expect(toWinAnsi('Line one\nLine two\r\n\tend')).toBe('Line one Line two end');
  });
});
