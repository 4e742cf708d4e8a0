import { ExportStatus } from './invoice-view';

/**
 * A change of export status as a document of its own: it names the invoice by id, number and the digest of
 * its issued part, so the signed event and the signed invoice vouch for each other without editing either.
 */
export interface StatusEventDocument {
  type: 'invoice.export_status';
  invoiceId: string;
  invoiceNumber: string;
  invoiceSha256: string;
  status: ExportStatus;
  previousStatus: ExportStatus | null;
  at: string;
  detail: string | null;
  data: Record<string, unknown>;
}

export function buildStatusEvent(p: {
  invoice: { id: string; number: string; sha256: string };
  status: ExportStatus;
  previousStatus: ExportStatus | null;
  at: Date;
  detail: string | null;
  data?: Record<string, unknown>;
}): StatusEventDocument {
  return {
    type: 'invoice.export_status',
    invoiceId: p.invoice.id,
    invoiceNumber: p.invoice.number,
    invoiceSha256: p.invoice.sha256,
    status: p.status,
    previousStatus: p.previousStatus,
    at: p.at.toISOString(),
    detail: p.detail,
    data: p.data ?? {},
  };
}
