import Decimal from 'decimal.js';
import { MoneyDecimal, roundCents } from '../money/money';

/**
 * SBP purpose codes for export proceeds (PAKISTAN.md): 9186 for freelance computer and information services,
 * 9249 for other freelance services. 9471 (workers' remittance) is never used: it would misreport an export.
 */
export const PURPOSE_CODES = {
  software_development: '9186',
  web_development: '9186',
  data_analysis: '9186',
  it_support: '9186',
  graphic_design: '9249',
  digital_marketing: '9249',
  content_writing: '9249',
  virtual_assistance: '9249',
  online_teaching: '9249',
  other: '9249',
} as const;

export type PurposeCode = (typeof PURPOSE_CODES)[keyof typeof PURPOSE_CODES];

export const PURPOSE_CODE_DESCRIPTIONS: Record<PurposeCode, string> = {
  '9186': 'Freelance computer and information services',
  '9249': 'Other freelance services',
};

export class UnknownServiceCategoryError extends Error {}

export function purposeCodeFor(serviceCategory: string): PurposeCode {
  if (!Object.hasOwn(PURPOSE_CODES, serviceCategory)) {
    throw new UnknownServiceCategoryError(`No purpose code for service category "${serviceCategory}"`);
  }
  return PURPOSE_CODES[serviceCategory as keyof typeof PURPOSE_CODES];
}

/**
 * Calendar dates of an export are Pakistani dates: the exporter's invoice year, the bank's realization date and
 * the SBP rate of that day. Pakistan keeps UTC+05:00 all year (no daylight saving since 2009).
 */
export const PAKISTAN_UTC_OFFSET_HOURS = 5;
const PAKISTAN_OFFSET_MS = PAKISTAN_UTC_OFFSET_HOURS * 60 * 60 * 1000;

export function pakistanDate(at: Date): string {
  return new Date(at.getTime() + PAKISTAN_OFFSET_MS).toISOString().slice(0, 10);
}

export function pakistanYear(at: Date): number {
  return new Date(at.getTime() + PAKISTAN_OFFSET_MS).getUTCFullYear();
}

const MAX_UTC_OFFSET_MINUTES = 14 * 60;

const DATE_OR_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?$/;

/**
 * The instant a Pakistani bank document names: a date (`2026-11-23`, kept as that day's UTC midnight, which is
 * the same day in Pakistan) or a date-time (`T` or a space between) with or without an offset; without one it is
 * read as Pakistan's time, never the server's. Null for anything else, including days a calendar lacks
 * (`2026-02-30`), a year or month alone, hour 24, leap seconds and offsets beyond ±14:00. Digits past
 * milliseconds are dropped.
 */
export function parsePakistanInstant(text: string): Date | null {
  const m = DATE_OR_DATE_TIME.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  // Clocks in use run from UTC-12:00 to UTC+14:00: an offset beyond ±14:00 (+23:59, +14:30) is a typo, not a time.
  if (offsetMinutes > 59 || offsetHours * 60 + offsetMinutes > MAX_UTC_OFFSET_MINUTES) return null;
  const wallClock = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const calendar = new Date(wallClock);
  if (
    calendar.getUTCFullYear() !== year ||
    calendar.getUTCMonth() !== month - 1 ||
    calendar.getUTCDate() !== day
  )
    return null;
  if (m[4] === undefined) return calendar;
  const offsetMs = m[8]
    ? 0
    : m[9]
      ? (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000
      : PAKISTAN_OFFSET_MS;
  return new Date(wallClock - offsetMs);
}

/** Whether parsePakistanInstant reads `text`: the rule of every instant the API takes as text. */
export const isPakistanInstant = (text: string): boolean => parsePakistanInstant(text) !== null;

const ESFCA_FLOOR_USD = new MoneyDecimal(5000);

/** What the freelancer framework lets the bank keep of a month's proceeds: the higher of USD 5,000 or 50%, at most the proceeds. */
function esfcaAllowance(monthProceeds: Decimal): Decimal {
  const half = roundCents(monthProceeds.times('0.5'));
  return MoneyDecimal.min(monthProceeds, MoneyDecimal.max(ESFCA_FLOOR_USD, half));
}

/**
 * What the bank keeps in the Exporters' Special Foreign Currency Account of one realization: the rule is monthly,
 * so this payout's share is what it adds to the month's allowance after the proceeds the same freelancer realized
 * earlier in that Pakistani month. Over a month the shares add up to the month's allowance. Shown as information.
 */
export function esfcaRetained(
  netRealized: Decimal,
  realizedEarlierThisMonth: Decimal = new MoneyDecimal(0),
  keptEarlierThisMonth: Decimal = esfcaAllowance(realizedEarlierThisMonth),
): Decimal {
  // What the ESFCA already holds of the month's standing proceeds is the allowance of what came before, unless a
  // return took proceeds out after later shares were figured with them: then it holds less, and this share tops
  // it up to the allowance of the standing proceeds (never below nothing, never above this payout's net).
  const share = esfcaAllowance(realizedEarlierThisMonth.plus(netRealized)).minus(keptEarlierThisMonth);
  return MoneyDecimal.min(netRealized, MoneyDecimal.max(0, share));
}

/** The instants that bound the Pakistani calendar month `at` falls in: `[start, end)`. */
export function pakistanMonthBounds(at: Date): { start: Date; end: Date } {
  const [year, month] = pakistanDate(at).split('-').map(Number);
  return {
    start: new Date(Date.UTC(year, month - 1, 1) - PAKISTAN_OFFSET_MS),
    end: new Date(Date.UTC(year, month, 1) - PAKISTAN_OFFSET_MS),
  };
}

/** The first day of the Pakistani calendar month `at` falls in, as `YYYY-MM-01`. */
export function pakistanMonthStart(at: Date): string {
  return `${pakistanDate(at).slice(0, 7)}-01`;
}

/** PKR equivalent of the dollars realized, rounded half-up to two decimals as the contract says. */
export function pkrEquivalent(netRealized: Decimal, rate: Decimal): Decimal {
  return roundCents(netRealized.times(rate));
}

/**
 * Income tax the bank withholds at realization (ITO s.154A): 0.25% for PSEB-registered IT/ITeS exporters,
 * 1% for others. Information on the invoice only; neither we nor the invoice withhold anything.
 */
export function withholdingRatePercent(psebRegistrationNo: string | null): Decimal {
  return new MoneyDecimal(psebRegistrationNo ? '0.25' : '1');
}

export function withholdingAmount(proceeds: Decimal, psebRegistrationNo: string | null): Decimal {
  return roundCents(proceeds.times(withholdingRatePercent(psebRegistrationNo)).dividedBy(100));
}
