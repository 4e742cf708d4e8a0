import Decimal from 'decimal.js';
import { MoneyDecimal } from '../money/money';
import { LedgerError, normalSideOf, Side } from './chart';

export type Currency = 'USD';

export interface PostingLine {
  account: string;
  side: Side;
  amount: Decimal;
  currency?: Currency;
}

export interface PostingRequest {
  idempotencyKey: string;
  kind: string;
  payoutId?: string;
  description: string;
  lines: PostingLine[];
  /** Set on a reversing entry; the database lets an entry be reversed only once. */
  reversesEntryId?: string;
}

/** A line ready for the database: amount as an exact two-digit string. */
export interface NormalizedLine {
  account: string;
  side: Side;
  amount: string;
  currency: string;
  normalSide: Side;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KIND = /^[a-z_]{1,40}$/;
/** numeric(20,2) holds up to 18 integer digits. */
const LIMIT = new MoneyDecimal('1e18');

/**
 * Checks an entry before it reaches the database, so a mistake is reported with its reason rather than
 * as a constraint failure at commit. The database checks the same rules again.
 */
export function normalizePosting(entry: PostingRequest): NormalizedLine[] {
  if (
    typeof entry.idempotencyKey !== 'string' ||
    entry.idempotencyKey.length < 1 ||
    entry.idempotencyKey.length > 255
  ) {
    throw new LedgerError('an entry needs an idempotency key of 1 to 255 characters');
  }
  if (!KIND.test(entry.kind)) throw new LedgerError(`"${entry.kind}" is not an entry kind (a-z and _)`);
  if (typeof entry.description !== 'string' || entry.description.length > 500) {
    throw new LedgerError('an entry description is a string of at most 500 characters');
  }
  for (const id of [entry.payoutId, entry.reversesEntryId]) {
    if (id !== undefined && !UUID.test(id)) throw new LedgerError(`"${id}" is not a UUID`);
  }
  if (!Array.isArray(entry.lines) || entry.lines.length < 2) {
    throw new LedgerError(`entry "${entry.idempotencyKey}" needs at least two lines`);
  }
  const net = new Map<string, Decimal>();
  const lines = entry.lines.map((line) => {
    if (line.side !== 'debit' && line.side !== 'credit') {
      throw new LedgerError(`side "${String(line.side)}" is neither debit nor credit`);
    }
    if (!Decimal.isDecimal(line.amount))
      throw new LedgerError(`the amount on ${line.account} is not a Decimal`);
    const amount = new MoneyDecimal(line.amount);
    if (
      !amount.isFinite() ||
      amount.lte(0) ||
      amount.gte(LIMIT) ||
      !amount.equals(amount.toDecimalPlaces(2))
    ) {
      throw new LedgerError(
        `the amount ${amount.toString()} on ${line.account} must be positive whole cents below 10^18`,
      );
    }
    const currency = line.currency ?? 'USD';
    if (!/^[A-Z]{3}$/.test(currency)) throw new LedgerError(`"${currency}" is not a currency code`);
    const signed = line.side === 'debit' ? amount : amount.negated();
    net.set(currency, (net.get(currency) ?? new MoneyDecimal(0)).plus(signed));
    return {
      account: line.account,
      side: line.side,
      amount: amount.toFixed(2),
      currency,
      normalSide: normalSideOf(line.account),
    };
  });
  for (const [currency, difference] of net) {
    if (!difference.isZero()) {
      throw new LedgerError(
        `entry "${entry.idempotencyKey}" is unbalanced in ${currency}: debits exceed credits by ${difference.toFixed(2)}`,
      );
    }
  }
  return lines;
}

/** The lines that undo the given ones: same accounts and amounts, sides swapped. */
export function reversalOf(lines: PostingLine[]): PostingLine[] {
  return lines.map((line) => ({ ...line, side: line.side === 'debit' ? 'credit' : 'debit' }));
}

/** Two sets of lines book the same movement when they match line for line, in any order. */
export function sameLines(a: PostingLine[], b: PostingLine[]): boolean {
  const key = (l: PostingLine) =>
    `${l.account}|${l.side}|${l.currency ?? 'USD'}|${new MoneyDecimal(l.amount).toFixed(2)}`;
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}
