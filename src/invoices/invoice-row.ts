import { formatExact, parseDecimal } from '../money/money';
import { ExportStatus, InvoiceView, IssuedPart, StatusChange } from './invoice-view';

/** The invoices columns as read back (numerics as text, dates as text where only the day matters). */
export interface InvoiceRow {
  id: string;
  partner_id: string;
  freelancer_id: string;
  payout_id: string;
  number: string;
  issued_at: Date;
  gross: string;
  issued_document: string;
  sha256: string;
  signature: string;
  export_status: ExportStatus;
  realized_at: Date | null;
  route_id: string | null;
  provider: string | null;
  rail: string | null;
  routing_fees: string | null;
  net_realized: string | null;
  fx_rate: string | null;
  fx_as_of: string | null;
  pkr_equivalent: string | null;
  esfca_retained: string | null;
  prc_number: string | null;
  prc_issued_at: Date | null;
  prc_bank: string | null;
  created_at: Date;
}

export const INVOICE_COLUMNS = `id, partner_id, freelancer_id, payout_id, number, issued_at, gross::text AS gross,
  issued_document, sha256, signature, export_status, realized_at, route_id, provider, rail,
  routing_fees::text AS routing_fees, net_realized::text AS net_realized, fx_rate::text AS fx_rate,
  fx_as_of::text AS fx_as_of, pkr_equivalent::text AS pkr_equivalent, esfca_retained::text AS esfca_retained,
  prc_number, prc_issued_at, prc_bank, created_at`;

export interface StatusEventRow {
  invoice_id: string;
  status: ExportStatus;
  at: Date;
  detail: string | null;
}

/**
 * The issued part is read from the canonical JSON that was signed, never rebuilt from columns, so what a client
 * sees is byte for byte what the hash covers.
 */
export function toInvoiceView(row: InvoiceRow, events: StatusEventRow[]): InvoiceView {
  const issued = JSON.parse(row.issued_document) as IssuedPart;
  const statusHistory: StatusChange[] = events.map((e) =>
    e.detail === null
      ? { status: e.status, at: e.at.toISOString() }
      : { status: e.status, at: e.at.toISOString(), detail: e.detail },
  );
  return {
    id: issued.id,
    number: issued.number,
    issuedAt: issued.issuedAt,
    exporter: issued.exporter,
    client: issued.client,
    lines: issued.lines,
    currency: issued.currency,
    gross: issued.gross,
    routingFees: row.routing_fees,
    netRealized: row.net_realized,
    purposeCode: issued.purposeCode,
    fx:
      row.fx_rate !== null && row.fx_as_of !== null
        ? { pair: 'USD-PKR', rate: formatExact(parseDecimal(row.fx_rate)), asOf: row.fx_as_of }
        : null,
    pkrEquivalent: row.pkr_equivalent,
    esfcaRetained: row.esfca_retained,
    realizedAt: row.realized_at ? row.realized_at.toISOString() : null,
    exportStatus: row.export_status,
    statusHistory,
    payoutId: issued.payoutId,
    freelancerId: row.freelancer_id,
    route:
      row.route_id !== null && row.provider !== null && row.rail !== null
        ? { routeId: row.route_id, provider: row.provider, rail: row.rail }
        : null,
    prc:
      row.prc_number !== null && row.prc_issued_at !== null && row.prc_bank !== null
        ? { prcNumber: row.prc_number, issuedAt: row.prc_issued_at.toISOString(), bank: row.prc_bank }
        : null,
    sha256: row.sha256,
    signature: row.signature,
  };
}
