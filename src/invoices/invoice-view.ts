import { PurposeCode } from './pakistan-export';

export const EXPORT_STATUSES = [
  'awaiting_proceeds',
  'proceeds_realized',
  'proceeds_failed',
  'prc_issued',
] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

export interface Exporter {
  name: string;
  cnic: string;
  ntn: string | null;
  psebRegistrationNo: string | null;
}

export interface ForeignClient {
  name: string;
  country: string;
}

export interface InvoiceLine {
  description: string;
  serviceCategory: string;
  amount: string;
}

/** The part of an invoice fixed at issue: hashed, signed, never changed. */
export interface IssuedPart {
  id: string;
  number: string;
  issuedAt: string;
  exporter: Exporter;
  client: ForeignClient;
  lines: InvoiceLine[];
  currency: 'USD';
  gross: string;
  purposeCode: PurposeCode;
  payoutId: string;
}

export interface StatusChange {
  status: ExportStatus;
  at: string;
  detail?: string;
}

/** The whole invoice as the contract shows it, plus the optional fields we add (ESFCA, e-PRC, realization date). */
export interface InvoiceView extends IssuedPart {
  freelancerId: string;
  routingFees: string | null;
  netRealized: string | null;
  fx: { pair: 'USD-PKR'; rate: string; asOf: string } | null;
  pkrEquivalent: string | null;
  esfcaRetained: string | null;
  realizedAt: string | null;
  exportStatus: ExportStatus;
  statusHistory: StatusChange[];
  route: { routeId: string; provider: string; rail: string } | null;
  prc: { prcNumber: string; issuedAt: string; bank: string } | null;
  sha256: string;
  signature: string;
}
