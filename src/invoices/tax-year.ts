import Decimal from 'decimal.js';
import { formatAmount, formatExact, MoneyDecimal } from '../money/money';
import { ExportStatus } from './invoice-view';
import {
  PAKISTAN_UTC_OFFSET_HOURS,
  pakistanDate,
  PurposeCode,
  withholdingAmount,
  withholdingRatePercent,
} from './pakistan-export';

/** Tax years the statement answers for; outside them a year is a typo, not a question. */
export const FIRST_TAX_YEAR = 2000;
export const LAST_TAX_YEAR = 2100;

export interface TaxYearPeriod {
  /** First Pakistani day of the year, `YYYY-07-01`. */
  from: string;
  /** Last Pakistani day of the year, `YYYY-06-30`. */
  to: string;
  /** The instants that bound it: `[start, end)`. */
  start: Date;
  end: Date;
}

/**
 * A Pakistani tax year runs from 1 July to 30 June and is named by the year it ends in (ITO 2001 s.74): tax year
 * 2027 is 1 July 2026 to 30 June 2027, in Pakistan's time.
 */
export function taxYearPeriod(taxYear: number): TaxYearPeriod {
  const offsetMs = PAKISTAN_UTC_OFFSET_HOURS * 60 * 60 * 1000;
  return {
    from: `${taxYear - 1}-07-01`,
    to: `${taxYear}-06-30`,
    start: new Date(Date.UTC(taxYear - 1, 6, 1) - offsetMs),
    end: new Date(Date.UTC(taxYear, 6, 1) - offsetMs),
  };
}

/** One invoice whose proceeds were realized in the year, as the statement reads it. */
export interface RealizedInvoice {
  invoiceId: string;
  number: string;
  realizedAt: Date;
  exportStatus: ExportStatus;
  purposeCode: PurposeCode;
  /** The exporter's PSEB registration as the invoice printed it: it sets the withholding rate. */
  psebRegistrationNo: string | null;
  gross: Decimal;
  routingFees: Decimal;
  netRealized: Decimal;
  fxRate: Decimal | null;
  pkrEquivalent: Decimal | null;
  esfcaRetained: Decimal | null;
  prcNumber: string | null;
}

export interface TaxYearTotals {
  invoices: number;
  gross: string;
  routingFees: string;
  netRealized: string;
  pkrEquivalent: string;
  withholdingUsd: string;
  withholdingPkr: string;
  esfcaRetained: string;
}

export interface TaxYearLine {
  invoiceId: string;
  number: string;
  realizedOn: string;
  exportStatus: ExportStatus;
  purposeCode: PurposeCode;
  netRealized: string;
  fxRate: string | null;
  pkrEquivalent: string | null;
  withholdingRatePercent: string;
  prcNumber: string | null;
}

export interface TaxYearSummary {
  totals: TaxYearTotals;
  byPurposeCode: Array<{ purposeCode: PurposeCode } & TaxYearTotals>;
  /** Realized invoices of the year that have no USD-PKR rate: their PKR figures are missing from the totals. */
  withoutFxRate: number;
  /** Realized invoices of the year still waiting for their e-PRC. */
  awaitingPrc: number;
  /** Proceeds realized in the year that the provider returned later: listed, not counted. */
  returned: { invoices: number; netRealized: string };
  lines: TaxYearLine[];
}

/** Proceeds that stand: realized and not returned since. */
function stands(invoice: RealizedInvoice): boolean {
  return invoice.exportStatus === 'proceeds_realized' || invoice.exportStatus === 'prc_issued';
}

function total(invoices: RealizedInvoice[]): TaxYearTotals {
  const sum = (pick: (invoice: RealizedInvoice) => Decimal | null) =>
    formatAmount(invoices.reduce((acc, i) => acc.plus(pick(i) ?? 0), new MoneyDecimal(0)));
  return {
    invoices: invoices.length,
    gross: sum((i) => i.gross),
    routingFees: sum((i) => i.routingFees),
    netRealized: sum((i) => i.netRealized),
    pkrEquivalent: sum((i) => i.pkrEquivalent),
    withholdingUsd: sum((i) => withholdingAmount(i.netRealized, i.psebRegistrationNo)),
    withholdingPkr: sum((i) => i.pkrEquivalent && withholdingAmount(i.pkrEquivalent, i.psebRegistrationNo)),
    esfcaRetained: sum((i) => i.esfcaRetained),
  };
}

/**
 * What a freelancer's tax filing needs of a year's export proceeds: the invoices realized in it, their totals in
 * USD and PKR, and the income tax the bank withheld on them at realization (ITO s.154A, at the rate each invoice
 * printed; each invoice's withholding rounded half-up to cents, as its PDF shows it). Invoices come in the order
 * they were realized.
 */
export function summarizeTaxYear(invoices: RealizedInvoice[]): TaxYearSummary {
  const standing = invoices.filter(stands);
  const returned = invoices.filter((i) => !stands(i));
  const codes = [...new Set(standing.map((i) => i.purposeCode))].sort();
  return {
    totals: total(standing),
    byPurposeCode: codes.map((purposeCode) => ({
      purposeCode,
      ...total(standing.filter((i) => i.purposeCode === purposeCode)),
    })),
    withoutFxRate: standing.filter((i) => i.pkrEquivalent === null).length,
    awaitingPrc: standing.filter((i) => i.exportStatus === 'proceeds_realized').length,
    returned: {
      invoices: returned.length,
      netRealized: total(returned).netRealized,
    },
    lines: invoices.map((i) => ({
      invoiceId: i.invoiceId,
      number: i.number,
      realizedOn: pakistanDate(i.realizedAt),
      exportStatus: i.exportStatus,
      purposeCode: i.purposeCode,
      netRealized: formatAmount(i.netRealized),
      fxRate: i.fxRate && formatExact(i.fxRate),
      pkrEquivalent: i.pkrEquivalent && formatAmount(i.pkrEquivalent),
      withholdingRatePercent: withholdingRatePercent(i.psebRegistrationNo).toString(),
      prcNumber: i.prcNumber,
    })),
  };
}
