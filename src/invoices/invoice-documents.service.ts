import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { pageClause, toPage } from '../common/pagination';
import { Problems } from '../common/problem';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  InvoiceDto,
  InvoicePageDto,
  InvoiceQuery,
  InvoiceVerificationDto,
  PublicKeyDto,
} from './dto/invoice.dto';
import { InvoiceFonts, loadInvoiceFonts } from './invoice-fonts';
import { renderInvoicePdf } from './invoice-pdf';
import { INVOICE_COLUMNS, InvoiceRow, StatusEventRow, toInvoiceView } from './invoice-row';
import { InvoiceSigner } from './invoice-signer.service';
import { renderInvoiceUbl } from './invoice-ubl';

export interface RenderedInvoice {
  number: string;
  body: Buffer;
}

/** Reads invoices for their partner and renders them (JSON, PDF, UBL), plus the public verification view. */
@Injectable()
export class InvoiceDocumentsService {
  private readonly logger = new Logger(InvoiceDocumentsService.name);
  private readonly fonts: InvoiceFonts | null;

  constructor(
    private readonly db: DataSource,
    private readonly signer: InvoiceSigner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.fonts = this.loadFonts();
  }

  /** The PDF's Unicode fonts; without them it falls back to the standard fonts, and says so once at start. */
  private loadFonts(): InvoiceFonts | null {
    try {
      return loadInvoiceFonts(this.config.invoiceFonts.dir);
    } catch (error) {
      const problem = `no DejaVu Sans in ${this.config.invoiceFonts.dir} (${String(error)})`;
      if (this.config.invoiceFonts.required) throw new Error(`INVOICE_FONT_DIR: ${problem}`);
      this.logger.warn(
        `Invoice PDFs use the standard fonts (Windows-1252 only: other letters print as "?"): ${problem}. ` +
          `Install fonts-dejavu-core or set INVOICE_FONT_DIR.`,
      );
      return null;
    }
  }

  async get(partnerId: string, id: string, manager: EntityManager = this.db.manager): Promise<InvoiceDto> {
    const rows: InvoiceRow[] = await manager.query(
      `SELECT ${INVOICE_COLUMNS} FROM invoices WHERE id = $1 AND partner_id = $2`,
      [id, partnerId],
    );
    if (!rows.length) throw Problems.notFound('Invoice');
    return toInvoiceView(rows[0], await this.events(manager, [id]));
  }

  async list(partnerId: string, query: InvoiceQuery): Promise<InvoicePageDto> {
    const params: unknown[] = [partnerId];
    let where = `partner_id = $1`;
    if (query.freelancerId !== undefined) {
      params.push(query.freelancerId);
      where += ` AND freelancer_id = $${params.length}`;
    }
    const rows: InvoiceRow[] = await this.db.query(
      `SELECT ${INVOICE_COLUMNS} FROM invoices WHERE ${where}${pageClause(query, params)}`,
      params,
    );
    const events = rows.length
      ? await this.events(
          this.db.manager,
          rows.map((r) => r.id),
        )
      : [];
    return toPage(rows, query, (row) =>
      toInvoiceView(
        row,
        events.filter((e) => e.invoice_id === row.id),
      ),
    );
  }

  async pdf(partnerId: string, id: string): Promise<RenderedInvoice> {
    const invoice = await this.get(partnerId, id);
    return { number: invoice.number, body: await renderInvoicePdf(invoice, this.verifyUrl(id), this.fonts) };
  }

  async ubl(partnerId: string, id: string): Promise<RenderedInvoice> {
    const invoice = await this.get(partnerId, id);
    return { number: invoice.number, body: Buffer.from(renderInvoiceUbl(invoice), 'utf8') };
  }

  /** What a bank may see of any invoice from the QR code: no party is revealed. */
  async verify(id: string): Promise<InvoiceVerificationDto> {
    const rows = await this.db.query(
      `SELECT issued_document, export_status, sha256, signature FROM invoices WHERE id = $1`,
      [id],
    );
    if (!rows.length) throw Problems.notFound('Invoice');
    const issued = JSON.parse(rows[0].issued_document);
    return {
      number: issued.number,
      issuedAt: issued.issuedAt,
      currency: issued.currency,
      gross: issued.gross,
      exportStatus: rows[0].export_status,
      sha256: rows[0].sha256,
      signature: rows[0].signature,
    };
  }

  publicKey(): PublicKeyDto {
    return { publicKeyPem: this.signer.publicKeyPem };
  }

  verifyUrl(id: string): string {
    return `${this.config.publicBaseUrl.replace(/\/+$/, '')}/v1/public/invoices/${id}/verify`;
  }

  private events(manager: EntityManager, invoiceIds: string[]): Promise<StatusEventRow[]> {
    return manager.query(
      `SELECT invoice_id, status, at, detail FROM invoice_status_events
       WHERE invoice_id = ANY($1::uuid[]) ORDER BY invoice_id, id`,
      [invoiceIds],
    );
  }
}
