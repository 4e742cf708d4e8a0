import Decimal from 'decimal.js';
import type { FieldError } from '../../common/problem';
import { MoneyDecimal } from '../../money/money';
import { SERVICE_CATEGORIES, ServiceCategory } from '../../payouts/payout-instruction';
import { ISO_COUNTRY_CODES } from './countries';
import { printableText, storableForDisplay, unstorableText } from '../../common/storable-text';

/** The largest payout one event may announce. */
export const MAX_GROSS = new MoneyDecimal('1000000.00');

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads fields out of an untrusted payload, collecting every problem under its payload path
 * (`data.client.country`) instead of stopping at the first, so a platform fixes all of them at once.
 */
export class PayloadReader {
  readonly errors: FieldError[] = [];

  fail(field: string, message: string): undefined {
    this.errors.push({ field, message });
    return undefined;
  }

  object(value: unknown, field: string): Record<string, unknown> | undefined {
    return isObject(value) ? value : this.fail(field, `${field} must be an object`);
  }

  /**
   * Text an invoice prints (a description, a client's name). A control character in it (pasted from a rich-text
   * editor, say), U+0000 or a lone surrogate is no reason to lose the payout: a refused event cannot be sent again
   * under its id. Each is printed as U+FFFD instead, the same in the invoice's JSON, PDF and UBL; the raw body
   * keeps what the platform sent.
   */
  text(value: unknown, field: string, maxLength: number): string | undefined {
    const text = this.nonEmpty(value, field, maxLength);
    return text === undefined ? undefined : printableText(storableForDisplay(text));
  }

  /**
   * A platform's identifier (its payout id, the freelancer's ref): kept exactly as sent, since two ids that a
   * replacement made equal would merge two payouts into one. One Postgres cannot store is refused.
   */
  identifier(value: unknown, field: string, maxLength: number): string | undefined {
    const text = this.nonEmpty(value, field, maxLength);
    if (text === undefined) return undefined;
    const unstorable = unstorableText(text);
    return unstorable ? this.fail(field, `${field} ${unstorable}`) : text;
  }

  private nonEmpty(value: unknown, field: string, maxLength: number): string | undefined {
    if (typeof value !== 'string' || value.trim() === '')
      return this.fail(field, `${field} must be a non-empty string`);
    if (value.length > maxLength) return this.fail(field, `${field} must be at most ${maxLength} characters`);
    return value;
  }

  /** A gross amount already parsed as a decimal: more than zero, at most MAX_GROSS, whole cents. */
  gross(value: Decimal | undefined, field: string, unit = ''): Decimal | undefined {
    if (value === undefined) return undefined;
    if (value.lessThanOrEqualTo(0)) return this.fail(field, `${field} must be more than zero`);
    if (value.greaterThan(MAX_GROSS))
      return this.fail(field, `${field} must be at most 1000000.00 USD${unit}`);
    if (!value.equals(value.toDecimalPlaces(2)))
      return this.fail(field, `${field} must have at most two decimals`);
    return value;
  }

  usd(value: unknown, field: string, accepted: string): 'USD' | undefined {
    if (value === accepted) return 'USD';
    return this.fail(field, `${field} must be "${accepted}"; only US dollar payouts are routed`);
  }

  /** An ISO 3166-1 alpha-2 code of a foreign client: an export needs a client outside Pakistan. */
  country(value: unknown, field: string): string | undefined {
    if (typeof value !== 'string' || !ISO_COUNTRY_CODES.has(value)) {
      return this.fail(field, `${field} must be an ISO 3166-1 alpha-2 country code such as "US"`);
    }
    if (value === 'PK') return this.fail(field, `${field} must not be PK: an export needs a client abroad`);
    return value;
  }

  serviceCategory(value: unknown, field: string): ServiceCategory | undefined {
    if (typeof value === 'string' && (SERVICE_CATEGORIES as readonly string[]).includes(value)) {
      return value as ServiceCategory;
    }
    return this.fail(field, `${field} must be one of ${SERVICE_CATEGORIES.join(', ')}`);
  }
}

/** Event types are stored for ops; a hostile payload must not make that column huge. */
export function storedType(type: string): string {
  const codePoints = [...type];
  const kept = codePoints.length > 200 ? `${codePoints.slice(0, 200).join('')}…` : type;
  return storableForDisplay(kept);
}
