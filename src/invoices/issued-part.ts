import Decimal from 'decimal.js';
import { formatAmount } from '../money/money';
import { IssuedPart } from './invoice-view';
import { purposeCodeFor } from './pakistan-export';

/** What an export invoice states about its payout, as the issuer is given it. */
export interface InvoiceFacts {
  payoutId: string;
  exporter: { name: string; cnic: string; ntn: string | null; psebRegistrationNo: string | null };
  client: { name: string; country: string };
  description: string;
  serviceCategory: string;
  gross: Decimal;
  currency: 'USD';
  issuedAt: Date;
}

export interface IssueFacts extends InvoiceFacts {
  id: string;
  number: string;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * RFC 8785 has no encoding for a lone UTF-16 surrogate, so text that carries one (it can arrive escaped in a
 * platform's JSON) is stored with U+FFFD in its place: the signed document is then valid JCS everywhere.
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Builds the issued part exactly as it is hashed and signed; amounts are strings, so the JSON is exact. */
export function buildIssuedPart(facts: IssueFacts): IssuedPart {
  const gross = formatAmount(facts.gross);
  return {
    id: facts.id,
    number: facts.number,
    issuedAt: facts.issuedAt.toISOString(),
    exporter: {
      name: wellFormed(facts.exporter.name),
      cnic: facts.exporter.cnic,
      ntn: facts.exporter.ntn,
      psebRegistrationNo:
        facts.exporter.psebRegistrationNo === null ? null : wellFormed(facts.exporter.psebRegistrationNo),
    },
    client: { name: wellFormed(facts.client.name), country: facts.client.country },
    lines: [
      {
        description: wellFormed(facts.description),
        serviceCategory: facts.serviceCategory,
        amount: gross,
      },
    ],
    currency: facts.currency,
    gross,
    purposeCode: purposeCodeFor(facts.serviceCategory),
    payoutId: facts.payoutId,
  };
}
